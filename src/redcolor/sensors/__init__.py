"""redcolor.sensors: real radars on the wire, the first live stage.

* ``asterix`` - ASTERIX CAT048 target reports and CAT034 service messages, encoded and decoded
  by hand for speed (libasterix is the reference in the tests), and the height/elevation
  geometry of I048/110.
* ``registry`` - the sensor registry (TOML): which radars may send, from where, with what pose.
* ``ingest`` - the sans-I/O core: datagrams in, scans out, every datagram and plot counted.
* ``udp`` and ``live`` - the thin asyncio receiver, and the feed that hands scans to the
  pipeline thread.

It imports only ``geo``, ``physics`` and the shared modules; it never reaches the simulator.
"""
