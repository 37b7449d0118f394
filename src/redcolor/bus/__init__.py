"""redcolor.bus: how alert events leave the core (in-process fan-out with resume)."""
