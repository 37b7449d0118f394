"""The server's view of its sensors: health for ``/health`` and the map, counts for ``/metrics``.

A :class:`SensorWatch` wraps the live core's :class:`~redcolor.sensors.ingest.Ingest` (which the
UDP receiver feeds in the event loop) with the clock the core runs on. ``/health`` and
``/metrics`` read it in the event loop too (both routes are async), so they never race the
receiver. A degraded sensor makes the whole server ``degraded`` (HTTP 200): part of the picture
is missing, which must never read as "nothing is flying".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redcolor.sensors.ingest import Ingest, IngestCounts, SensorHealth


@dataclass(frozen=True)
class SensorWatch:
    """The live core's ingest and its clock (``now`` gives the core's time: the wall clock, or
    a simulated run's scaled clock)."""

    ingest: Ingest
    now: Callable[[], float]

    def health(self) -> list[SensorHealth]:
        return self.ingest.health(self.now())

    def counts(self) -> IngestCounts:
        return self.ingest.counts


def sensor_report(health: list[SensorHealth]) -> list[dict[str, Any]]:
    """Each sensor's health as ``/health`` lists it."""
    return [
        {
            "id": h.id,
            "state": h.state,
            "reason": h.reason,
            "last_data_age_s": None if h.last_data_age_s is None else round(h.last_data_age_s, 3),
            "scans": h.scans,
            "plots": h.plots,
            "dropped": h.dropped,
        }
        for h in health
    ]


def degraded_reason(health: list[SensorHealth]) -> str | None:
    """One line naming every degraded sensor and why ("sensor north: silent (last data 9.1 s
    ago)"), or None while every sensor is ok."""
    parts = []
    for h in health:
        if h.state == "ok":
            continue
        age = "" if h.last_data_age_s is None else f" (last data {h.last_data_age_s:.1f} s ago)"
        parts.append(f"sensor {h.id}: {h.reason}{age}")
    return "; ".join(parts) or None
