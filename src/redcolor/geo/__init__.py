"""redcolor.geo: alert areas (polygons, names, shelter times), a spatial index over them, and
local metric frames (east-north-up and ground metres) around any origin."""

from redcolor.geo.areas import Area, AreaIndex
from redcolor.geo.frame import LocalFrame, grow
from redcolor.geo.load import EDITIONS, load_areas, load_outline, outline_path, read_areas_file

__all__ = [
    "EDITIONS",
    "Area",
    "AreaIndex",
    "LocalFrame",
    "grow",
    "load_areas",
    "load_outline",
    "outline_path",
    "read_areas_file",
]
