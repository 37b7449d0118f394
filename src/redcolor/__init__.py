"""redcolor: rocket and missile early warning and public alerts.

The pipeline runs one way, one package per stage::

    sensors -> tracking -> prediction -> warning -> alerts -> bus -> channels

``geo`` and ``sim`` sit at the left; ``model`` and ``errors`` are shared by every stage.
"""

__version__ = "0.1.0"
