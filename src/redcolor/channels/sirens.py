"""Siren controllers: who sounds, who stops, who has not acknowledged. No clock, no I/O.

A controller connects for one or more areas. An ``alert`` or ``update`` event sends ``activate``
to every connected siren of its areas; ``ended`` and ``cancelled`` send ``stop``. Each command
must be acknowledged within ``ack_deadline_s``; :meth:`SirenBoard.overdue` hands back the ones
that were not, once each. A siren that connects while its area is sounding is activated at once.

The siren sounds for the area's shelter time (REFERENCE.md: "the siren sounds as long as the
time allowed to reach shelter"), at least :data:`MIN_SOUND_S` (an assumption, so that a 0 s
confrontation-line area still hears a siren).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from redcolor.channels.active import ActiveArea
from redcolor.model import RELEASES, AlertEvent

MIN_SOUND_S = 15


def sound_s(shelter_s: int) -> int:
    """How long a siren sounds for an area whose shelter time is ``shelter_s``."""
    return max(shelter_s, MIN_SOUND_S)


class Command(msgspec.Struct, frozen=True):
    """One command to one siren (sent as JSON; the siren answers ``{"type":"ack","cmd":id}``)."""

    cmd: int
    siren: str
    action: str  # "activate" | "stop"
    area_id: int
    alert_id: str
    seq: int
    duration_s: int
    type: str = "command"


@dataclass
class _Pending:
    command: Command
    sent_at_s: float


@dataclass
class SirenBoard:
    """State of all connected sirens and their unacknowledged commands."""

    ack_deadline_s: float = 1.0
    _areas_of: dict[str, frozenset[int]] = field(default_factory=dict)
    _sounding: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def restore(self, active: Iterable[ActiveArea]) -> None:
        """Seed who sounds from the active view folded from the stored log (a restart).

        Every area whose most urgent open alert is past the pre-alert sounds again, so a siren
        reconnecting to it is activated; the view already leaves out ended and expired alerts.
        """
        for area in active:
            if area.stage != "pre_alert":
                self._sounding[area.area_id] = (area.alert_id, area.seq, sound_s(area.shelter_s))

    def connect(self, siren: str, area_ids: frozenset[int], now_s: float) -> list[Command]:
        """Register a siren; returns ``activate`` for its areas that are sounding now."""
        self._areas_of[siren] = area_ids
        out = []
        for area in sorted(area_ids & self._sounding.keys()):
            alert_id, seq, duration_s = self._sounding[area]
            out.append(self._command(siren, "activate", area, alert_id, seq, duration_s, now_s))
        return out

    def disconnect(self, siren: str) -> list[Command]:
        """Forget a siren; returns its commands that will now never be acknowledged."""
        self._areas_of.pop(siren, None)
        lost = [p.command for k, p in self._pending.items() if p.command.siren == siren]
        for command in lost:
            del self._pending[command.cmd]
        return lost

    def sirens(self) -> list[str]:
        return sorted(self._areas_of)

    def _command(
        self, siren: str, action: str, area: int, alert_id: str, seq: int, dur: int, now_s: float
    ) -> Command:
        command = Command(next(self._ids), siren, action, area, alert_id, seq, dur)
        self._pending[command.cmd] = _Pending(command, now_s)
        return command

    def on_event(self, event: AlertEvent, now_s: float) -> list[Command]:
        """Commands this event causes, in siren then area order."""
        if event.stage == "pre_alert":
            return []
        action = "stop" if event.stage in RELEASES else "activate"
        touched: dict[int, int] = {}
        for area in event.areas:
            if action == "activate":
                duration_s = sound_s(area.shelter_s)
                self._sounding[area.id] = (event.id, event.seq, duration_s)
                touched[area.id] = duration_s
            elif self._sounding.get(area.id, ("",))[0] == event.id:
                del self._sounding[area.id]
                touched[area.id] = 0
        out = []
        for siren, siren_areas in sorted(self._areas_of.items()):
            for area_id in sorted(siren_areas & touched.keys()):
                out.append(
                    self._command(
                        siren, action, area_id, event.id, event.seq, touched[area_id], now_s
                    )
                )
        return out

    def ack(self, siren: str, cmd: int, now_s: float) -> float | None:
        """Record an acknowledgement; returns its latency in s (None if unknown or late)."""
        pending = self._pending.get(cmd)
        if pending is None or pending.command.siren != siren:
            return None
        del self._pending[cmd]
        return now_s - pending.sent_at_s

    def overdue(self, now_s: float) -> list[Command]:
        """Commands past their deadline without an ack (each reported once)."""
        late = [
            p.command for p in self._pending.values() if now_s - p.sent_at_s > self.ack_deadline_s
        ]
        for command in late:
            del self._pending[command.cmd]
        return late
