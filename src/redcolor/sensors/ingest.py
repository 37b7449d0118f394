"""The ingest core (placeholder until the ingest part lands: only the type the runner takes)."""

from __future__ import annotations

from dataclasses import dataclass

from redcolor.model import Scan


@dataclass(frozen=True, slots=True)
class Received:
    """A scan handed to the pipeline, with the ``time.monotonic()`` at which the datagram that
    completed it arrived."""

    scan: Scan
    arrival_mono_s: float
