"""redcolor: rocket and missile early warning and public alerts.

The pipeline runs one way, one package per stage::

    sensors -> tracking -> prediction -> warning -> alerts -> bus -> channels

``geo`` and ``physics`` sit at the left; ``sim`` (the simulated world) uses ``physics`` and is
flown only by the composition stages (``pipeline``, ``serve --simulate``, ``eval``, ``cli``);
``model`` and ``errors`` are shared by every stage.
"""

__version__ = "0.1.0"
