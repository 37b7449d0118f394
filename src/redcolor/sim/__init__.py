"""redcolor.sim: the world the sensors see.

* ``atmosphere`` - ISA 1976 density and speed of sound.
* ``physics`` - 3-DOF flight in a local ENU frame (spherical rotating Earth, Mach-dependent
  drag); ``propagate_to_ground`` is shared with the prediction stage.
* ``catalogue`` - projectiles, each with its public source and labelled assumptions.
* ``flight`` / ``aim`` / ``salvo`` - powered flight, range tables and aim solving, salvos with
  dispersion, drones on waypoints.
* ``radar`` - what a radar reports at one scan.
* ``scenario`` / ``run`` - TOML scenarios (built-ins in ``scenarios/``), ``simulate`` and the
  lazy, time-ordered scan stream with its ground truth.
* ``summary`` / ``plots`` - tables and pictures for people.
"""
