"""redcolor.physics: how things fly, shared by the simulator and the live stages.

* ``atmosphere`` - ISA 1976 density and speed of sound, standard gravity.
* ``ballistics`` - 3-DOF unpowered flight in a local ENU frame (spherical rotating Earth,
  Mach-dependent drag); ``coast_accel`` (numpy) is the tracker's motion model and the
  reference of ``kernel``; ``propagate_to_ground`` (the impact predictor's) and ``coast`` (the
  simulator's coast phase) run the compiled kernel.
* ``kernel`` - the compiled (numba) coast kernel: one fused RK4 loop per object, rows over the
  cores, the physics of ``coast_accel`` with its constants passed in.
* ``catalogue`` - projectiles, each with its public source and labelled assumptions (the
  warning stage takes its danger radii from it).

It imports only ``geo``, ``model`` and ``errors``: nothing here knows about radars, scenarios or
ground truth, which stay in :mod:`redcolor.sim`.
"""
