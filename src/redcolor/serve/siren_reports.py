"""Bounded reporting of the siren channel: per-siren totals and log lines tallied per interval.

Siren ids are never metric labels (they are as many as the tokens an operator adds); per-siren
detail lives in :class:`SirenStats`, one entry per live siren token, served by ``GET /v1/sirens``.
Refusals, drops and missed acks are counted in a :class:`Tally` and logged at most once per
``interval_s`` with their counts (the first batch at once), so a flood of them is one line.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

REPORT_INTERVAL_S = 10.0


@dataclass
class Tally:
    """Counts by key (keys from a bounded set), handed back at most once per ``interval_s``."""

    interval_s: float = REPORT_INTERVAL_S
    last_note: str = ""
    _counts: Counter[str] = field(default_factory=Counter)
    _last_s: float = -math.inf

    def add(self, key: str, count: int = 1, note: str = "") -> None:
        self._counts[key] += count
        if note:
            self.last_note = note[:200]

    def due(self, now_s: float) -> Counter[str] | None:
        """The counts since the last report, if there are any and a report is due."""
        if not self._counts or now_s - self._last_s < self.interval_s:
            return None
        out, self._counts, self._last_s = self._counts, Counter(), now_s
        return out


def summary(counts: Counter[str], top: int = 5) -> str:
    """``"siren-3: 10, siren-4: 2 and 3 more"``: the largest ``top`` counts, bounded length."""
    ranked = counts.most_common()
    text = ", ".join(f"{key}: {n}" for key, n in ranked[:top])
    return text + (f" and {len(ranked) - top} more" if len(ranked) > top else "")


@dataclass
class SirenStats:
    """One siren's totals since the server started."""

    sent: int = 0
    acked: int = 0
    ack_timeouts: int = 0
    drops: int = 0


@dataclass
class SirenReports:
    """Everything the siren channel reports besides ``/metrics``."""

    stats: dict[str, SirenStats] = field(default_factory=dict)
    refused: Tally = field(default_factory=Tally)
    dropped: Tally = field(default_factory=Tally)
    missed: Tally = field(default_factory=Tally)
    unreadable: Tally = field(default_factory=Tally)

    def of(self, siren: str) -> SirenStats:
        """The totals of an authenticated siren (callers pass only token-bound ids)."""
        return self.stats.setdefault(siren, SirenStats())

    def keep_only(self, sirens: set[str]) -> None:
        """Forget sirens whose token is gone, so the table stays as small as the token list."""
        for siren in self.stats.keys() - sirens:
            del self.stats[siren]
