"""The feed that hands scans to the pipeline thread (placeholder until the ingest part lands)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    """No more data up to ``t_unix_s``: let the lifecycles run to it."""

    t_unix_s: float
