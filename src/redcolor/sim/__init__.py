"""redcolor.sim: the world the sensors see (flown with :mod:`redcolor.physics`).

* ``flight`` / ``aim`` / ``salvo`` - powered flight, range tables and aim solving, salvos with
  dispersion, drones on waypoints.
* ``radar`` - what a radar reports at one scan.
* ``scenario`` / ``run`` - TOML scenarios (built-ins in ``scenarios/``), ``simulate`` and the
  lazy, time-ordered scan stream with its ground truth.
* ``summary`` / ``plots`` - tables and pictures for people.
"""
