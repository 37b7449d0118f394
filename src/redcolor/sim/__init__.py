"""redcolor.sim: the world the sensors see.

Modules: ``atmosphere`` (ISA 1976), ``physics`` (3-DOF flight in a local ENU frame, shared with
prediction), ``catalogue`` (projectiles with sources), ``flight`` (powered flight, recorded
trajectories), ``aim`` (range tables and aim solving).
"""
