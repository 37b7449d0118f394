"""redcolor.sensors: real radars on the wire, the first live stage.

* ``asterix`` - ASTERIX CAT048 target reports and CAT034 service messages: the public encoder
  and decoder (written by hand for speed; libasterix is the reference in the tests).
* ``uap`` / ``cat048`` - the record structure (every UAP item's length rule) and the CAT048
  readers behind ``asterix.decode``.
* ``geometry`` - height (I048/110) and elevation of a plot on a spherical Earth.
* ``registry`` - the sensor registry (TOML): which radars may send, from where, with what pose.
* ``ingest`` - the sans-I/O core: datagrams in, scans out, every datagram and plot counted.
* ``udp`` and ``live`` - the thin asyncio receiver, and the feed that hands scans to the
  pipeline thread.

It imports only ``geo``, ``physics`` and the shared modules; it never reaches the simulator.
"""
