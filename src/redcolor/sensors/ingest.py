"""The ingest core, sans-I/O: ASTERIX datagrams in, scans for the tracker out, all counted.

No sockets and no clock reads: the caller passes each datagram with its source address, the
wall clock (``now_unix_s``) and the monotonic arrival time, and calls :meth:`Ingest.due`
periodically so that a scan nobody closes is handed over on time.

Accounting
----------
Every datagram is counted once under (sensor, result): ``"accepted"`` or one reason, a decode
reason of :data:`~redcolor.sensors.asterix.DECODE_REASONS` or one of
:data:`DATAGRAM_REASONS`. The sensor is the one its SAC/SIC names; for a datagram that does not
decode (or holds no record, or records of several sensors) the one sensor allowed to send from
its source address, else :data:`~redcolor.sensors.registry.UNREGISTERED`, under which an
unregistered SAC/SIC is always counted. Every decoded plot (CAT048 report) and
service message (CAT034 record) is counted once too: ``"accepted"`` (it joined a scan, or the
service message was taken as the scan clock), the reason of its refused datagram, or its own
reason of :data:`ITEM_REASONS`. So ``sum(counts.datagrams.values())`` is the number of datagrams
given to :meth:`Ingest.datagram`.

Scan assembly (per sensor)
--------------------------
A CAT034 north marker opens a scan at its time of day; CAT048 plots with that time of day join
it. The scan is handed over at the sensor's next CAT034 message (a sector crossing closes it; a
north marker closes it and opens the next), when a plot with a later time of day arrives, or by
:meth:`Ingest.due` one scan period after its last datagram arrived, or two after it opened
(so a sensor whose clock stopped cannot keep one scan open for ever). Plots with no north
marker before them open a scan at their time of day (a radar that sends no CAT034). A scan is
handed over even with no plots: the radar looked and saw nothing. Within one datagram the items
are taken in time order, at equal times north markers first, then plots, then other service
messages (so one datagram "north marker, plots, sector crossing" is one whole scan).

Hand-over order
---------------
The tracker takes scans in time order, across sensors. So a completed scan waits while another
sensor's older scan is still being assembled, and the scans come out oldest first, each with
the arrival of the datagram that completed it. The wait is short (the other scan's last
datagrams), at most two scan periods of the other sensor if it falls silent mid-scan. Only a
scan that starts after a newer scan of another sensor was handed over can come out of order.

Times
-----
Time of day (I048/140, I034/030) plus the sensor's ``clock_offset_s``, on the UTC day that puts
it nearest ``now_unix_s`` (so a scan just before midnight, received just after, keeps its day).
Further than ``max_skew_s`` from now: ``clock_skew``. Older than the scan being assembled, or
than the sensor's last handed-over scan: ``out_of_order``; the same time as its last
handed-over scan: ``replayed``.

Plot checks, in order (the first that fails is the reason): SIM=1 from a sensor not registered
as simulated (``simulated``); no time of day (``no_time``); ``clock_skew``; ``out_of_order`` /
``replayed``; no I048/040 position (``no_position``); range not in (0, max range + 6 sigma]
(``bad_range``); azimuth outside [0, 2 pi) (``bad_azimuth``); no elevation, neither SP nor
I048/110 (``no_elevation``); an elevation outside +-pi/2, or a height out of geometric reach at
that range by more than the items' rounding (:data:`REACH_TOLERANCE_M`; ``bad_elevation``); a
radial speed beyond :data:`MAX_RANGE_RATE_M_S` (``bad_range_rate``). The elevation is the SP
one if present, else computed from the I048/110 height with the sensor's ``alt_m``
(:func:`~redcolor.sensors.asterix.elevation_from_height_rad`).

Health
------
A sensor is ``degraded`` when it has sent no accepted datagram for more than two scan periods
(``silent``), or none at all two periods after the ingest first saw the clock (``never_heard``),
or when its time of day has not advanced for more than two periods while it keeps sending
(``clock_stopped``: a stopped scan clock, or one so far off that all its times are refused).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from redcolor.model import Plot, Scan
from redcolor.sensors.asterix import DAY_S, AsterixError, Decoded, decode, elevation_from_height_rad
from redcolor.sensors.registry import UNREGISTERED, Registry, SensorConfig
from redcolor.sensors.uap import HEIGHT_M, RHO_M

ACCEPTED = "accepted"
DATAGRAM_REASONS: tuple[str, ...] = (
    "no_records",  # it decoded, but held no record
    "mixed_sensors",  # records of more than one SAC/SIC in one datagram
    "unregistered",  # a SAC/SIC no sensor is registered with
    "bad_source",  # a registered SAC/SIC from an address not among its sources
)
"""Why the ingest refuses a datagram that decoded (besides the decoder's own reasons)."""

ITEM_REASONS: tuple[str, ...] = (
    "simulated", "no_time", "clock_skew", "out_of_order", "replayed",
    "no_position", "bad_range", "bad_azimuth", "no_elevation", "bad_elevation", "bad_range_rate",
)  # fmt: skip
"""Why the ingest drops one plot (all of them) or one service message (the time reasons)."""

MAX_RANGE_RATE_M_S = 12_000.0
"""Radial speeds beyond this are refused: above Earth's escape speed (11.2 km/s), faster than
anything ballistic a ground radar can see (an assumption with a wide margin)."""

RANGE_MARGIN_SIGMAS = 6.0
"""A plot may lie this many range sigmas beyond the sensor's maximum range (noise)."""

REACH_TOLERANCE_M = 0.5 * (HEIGHT_M + RHO_M)
"""How far an I048/110 height may lie beyond the reach at its I048/040 range (straight up or
down) and still be taken, as straight up or down: half of each item's LSB (25 ft, 1/256 NM), the
most their two roundings add up to. Without it a target over the radar, whose height is its
range, is refused as ``bad_elevation`` whenever the roundings go opposite ways."""

TWO_PI = 2.0 * math.pi

HealthReason = Literal["silent", "clock_stopped", "never_heard"]


@dataclass(frozen=True, slots=True)
class Received:
    """A scan handed to the pipeline, with the monotonic arrival of the datagram that
    completed it (for a scan closed by timeout, its last datagram)."""

    scan: Scan
    arrival_mono_s: float


@dataclass(frozen=True, slots=True)
class SensorHealth:
    """One sensor's state; ``dropped`` its plots dropped, by reason."""

    id: str
    state: Literal["ok", "degraded"]
    reason: HealthReason | None
    last_data_age_s: float | None
    scans: int
    plots: int
    dropped: dict[str, int]


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """Plain counts, keyed (sensor id or ``"unregistered"``, ``"accepted"`` or a reason)."""

    datagrams: dict[tuple[str, str], int]
    plots: dict[tuple[str, str], int]
    services: dict[tuple[str, str], int]
    scans: dict[str, int]


@dataclass
class _Open:
    t_unix_s: float
    opened_mono_s: float
    last_mono_s: float
    plots: list[Plot] = field(default_factory=list)


@dataclass
class _Sensor:
    cfg: SensorConfig
    open: _Open | None = None
    last_t_unix_s: float = -math.inf
    last_data_unix_s: float | None = None
    newest_t_unix_s: float = -math.inf
    advanced_unix_s: float | None = None
    scans: int = 0


class Ingest:
    """Datagrams from the registered sensors to scans; see the module docstring."""

    def __init__(self, registry: Registry, *, max_skew_s: float = 30.0) -> None:
        if not (math.isfinite(max_skew_s) and max_skew_s > 0.0):
            raise ValueError(f"max_skew_s must be positive, got {max_skew_s}")
        self.registry = registry
        self.max_skew_s = max_skew_s
        self._sensors = {cfg.id: _Sensor(cfg) for cfg in registry.sensors}
        self._started_unix_s: float | None = None
        self._held: list[tuple[float, int, Received]] = []  # a heap by scan time, then order
        self._seq = 0
        self._datagrams: Counter[tuple[str, str]] = Counter()
        self._plots: Counter[tuple[str, str]] = Counter()
        self._services: Counter[tuple[str, str]] = Counter()

    # ------------------------------------------------------------------ public
    @property
    def counts(self) -> IngestCounts:
        """A snapshot of the counts (copies: safe to read from another thread)."""
        return IngestCounts(
            dict(self._datagrams),
            dict(self._plots),
            dict(self._services),
            {sid: s.scans for sid, s in self._sensors.items()},
        )

    def datagram(
        self, data: bytes, source_ip: str, now_unix_s: float, arrival_mono_s: float
    ) -> list[Received]:
        """Take one datagram; return the scans it released (oldest first): those it completed,
        and earlier ones that waited for it (see "Hand-over order")."""
        self._see(now_unix_s)
        try:
            decoded = decode(data)
        except AsterixError as exc:
            self._datagrams[(self._owner(source_ip), exc.reason)] += 1
            return []
        cfg, reason = self._sender(decoded, source_ip)
        if reason is not None:
            if cfg is not None:
                name = cfg.id
            else:
                name = UNREGISTERED if reason == "unregistered" else self._owner(source_ip)
            self._refuse(name, reason, decoded)
            return []
        assert cfg is not None
        self._datagrams[(cfg.id, ACCEPTED)] += 1
        state = self._sensors[cfg.id]
        state.last_data_unix_s = now_unix_s
        if state.advanced_unix_s is None:
            state.advanced_unix_s = now_unix_s
        for t, rank, idx in self._events(state, decoded, now_unix_s):
            if idx is not None:
                self._plot_run(state, t, idx, decoded, arrival_mono_s)
            else:
                self._service(state, t, rank, arrival_mono_s)
        return self._release()

    def due(self, now_unix_s: float, now_mono_s: float) -> list[Received]:
        """Close the scans whose last datagram is one scan period old or more, or that opened
        two periods ago or more; return the scans released (oldest first)."""
        self._see(now_unix_s)
        for state in self._sensors.values():
            scan, period_s = state.open, state.cfg.scan_period_s
            if scan is None:
                continue
            if (
                now_mono_s - scan.last_mono_s >= period_s
                or now_mono_s - scan.opened_mono_s >= 2.0 * period_s
            ):
                self._close(state, scan.last_mono_s)
        return self._release()

    def pending_unix_s(self) -> float | None:
        """The time of the oldest scan still being assembled or held, or None: scans handed
        over later are at or after it (unless a sensor sends a scan later than another sensor's
        next one), so a pipeline may run up to it."""
        times = [s.open.t_unix_s for s in self._sensors.values() if s.open is not None]
        if self._held:
            times.append(self._held[0][0])
        return min(times) if times else None

    def health(self, now_unix_s: float) -> list[SensorHealth]:
        """Every registered sensor's health at ``now_unix_s``, in registry order (it reads a
        copy of the counts, so another thread may call it)."""
        self._see(now_unix_s)
        started = self._started_unix_s if self._started_unix_s is not None else now_unix_s
        dropped: dict[str, dict[str, int]] = {sid: {} for sid in self._sensors}
        accepted: Counter[str] = Counter()
        for (sid, result), n in dict(self._plots).items():
            if sid not in dropped:
                continue
            if result == ACCEPTED:
                accepted[sid] += n
            else:
                dropped[sid][result] = n
        out = []
        for sid, s in self._sensors.items():
            limit_s = 2.0 * s.cfg.scan_period_s
            reason: HealthReason | None = None
            age = None if s.last_data_unix_s is None else max(0.0, now_unix_s - s.last_data_unix_s)
            if age is None:
                reason = "never_heard" if now_unix_s - started > limit_s else None
            elif age > limit_s:
                reason = "silent"
            elif s.advanced_unix_s is not None and now_unix_s - s.advanced_unix_s > limit_s:
                reason = "clock_stopped"
            out.append(
                SensorHealth(
                    id=sid,
                    state="ok" if reason is None else "degraded",
                    reason=reason,
                    last_data_age_s=age,
                    scans=s.scans,
                    plots=accepted[sid],
                    dropped=dropped[sid],
                )
            )
        return out

    # ------------------------------------------------------------------ datagram checks
    def _see(self, now_unix_s: float) -> None:
        if self._started_unix_s is None:
            self._started_unix_s = now_unix_s

    def _owner(self, source_ip: str) -> str:
        owner = self.registry.owner_of(source_ip)
        return owner.id if owner is not None else UNREGISTERED

    def _sender(self, decoded: Decoded, source_ip: str) -> tuple[SensorConfig | None, str | None]:
        """The sensor a decoded datagram is from, or the reason to refuse it."""
        p = decoded.plots
        keys = {(s.sac, s.sic) for s in decoded.services}
        if len(p):
            ids = np.unique((p.sac.astype(np.int64) << 8) | p.sic).tolist()
            keys |= {(i >> 8, i & 0xFF) for i in ids}
        if not keys:
            return None, "no_records"
        if len(keys) > 1:
            return None, "mixed_sensors"
        cfg = self.registry.by_sac_sic(*keys.pop())
        if cfg is None:
            return None, "unregistered"
        if not self.registry.allows(cfg, source_ip):
            return cfg, "bad_source"
        return cfg, None

    def _refuse(self, name: str, reason: str, decoded: Decoded) -> None:
        self._datagrams[(name, reason)] += 1
        if n := len(decoded.plots):
            self._plots[(name, reason)] += n
        if m := len(decoded.services):
            self._services[(name, reason)] += m

    # ------------------------------------------------------------------ items
    @staticmethod
    def _unix_s(state: _Sensor, tod_s: Any, now_unix_s: float) -> Any:
        """Time of day (+ the sensor's offset) on the UTC day nearest ``now_unix_s``, for a
        float or an array of them."""
        tod = tod_s + state.cfg.clock_offset_s
        return tod + DAY_S * np.round((now_unix_s - tod) / DAY_S)

    def _events(
        self, state: _Sensor, decoded: Decoded, now_unix_s: float
    ) -> list[tuple[float, int, NDArray[np.intp] | None]]:
        """The datagram's timed items in processing order: (t, rank, plot indices) with rank 0
        a north marker, 1 a run of plots at t (their indices), 2 another service message. Items
        refused before assembly (simulated, no time, skew) are counted here."""
        sid = state.cfg.id
        events: list[tuple[float, int, NDArray[np.intp] | None]] = []
        for s in decoded.services:
            t = float(self._unix_s(state, s.tod_s, now_unix_s))
            reason = self._time_reason(state, t, now_unix_s)
            if reason is not None:
                self._services[(sid, reason)] += 1
            else:
                events.append((t, 0 if s.kind == "north_marker" else 2, None))
        p = decoded.plots
        if len(p):
            times = self._unix_s(state, p.tod_s, now_unix_s)
            bad_sim = p.simulated & (not state.cfg.simulated)
            no_time = ~bad_sim & np.isnan(times)
            skew = ~bad_sim & ~no_time & (np.abs(times - now_unix_s) > self.max_skew_s)
            for reason, mask in (("simulated", bad_sim), ("no_time", no_time),
                                 ("clock_skew", skew)):  # fmt: skip
                if n := int(mask.sum()):
                    self._plots[(sid, reason)] += n
            good = np.flatnonzero(~(bad_sim | no_time | skew))
            if good.size:
                ts = times[good]
                lo, hi = float(ts.min()), float(ts.max())
                self._advance(state, hi, now_unix_s)
                if lo == hi:  # the usual case: one scan's plots
                    events.append((lo, 1, good))
                else:
                    events += [(t, 1, good[ts == t]) for t in np.unique(ts).tolist()]
        events.sort(key=lambda e: (e[0], e[1]))
        return events

    def _time_reason(self, state: _Sensor, t: float, now_unix_s: float) -> str | None:
        if math.isnan(t):
            return "no_time"
        if abs(t - now_unix_s) > self.max_skew_s:
            return "clock_skew"
        self._advance(state, t, now_unix_s)
        return None

    @staticmethod
    def _advance(state: _Sensor, t: float, now_unix_s: float) -> None:
        if t > state.newest_t_unix_s:
            state.newest_t_unix_s = t
            state.advanced_unix_s = now_unix_s

    @staticmethod
    def _order_reason(state: _Sensor, t: float) -> str | None:
        """Why a time cannot join this sensor's scans (None: it can)."""
        if t < state.last_t_unix_s or (state.open is not None and t < state.open.t_unix_s):
            return "out_of_order"
        if t == state.last_t_unix_s:
            return "replayed"
        return None

    def _service(self, state: _Sensor, t: float, rank: int, arrival_mono_s: float) -> None:
        sid = state.cfg.id
        reason = self._order_reason(state, t)
        if reason is not None:
            self._services[(sid, reason)] += 1
            return
        self._services[(sid, ACCEPTED)] += 1
        if state.open is not None and (rank == 2 or state.open.t_unix_s != t):
            self._close(state, arrival_mono_s)
        if rank == 0 and state.open is None:
            state.open = _Open(t, arrival_mono_s, arrival_mono_s)
        elif state.open is not None:
            state.open.last_mono_s = arrival_mono_s

    def _plot_run(
        self,
        state: _Sensor,
        t: float,
        idx: NDArray[np.intp],
        decoded: Decoded,
        arrival_mono_s: float,
    ) -> None:
        sid = state.cfg.id
        reason = self._order_reason(state, t)
        if reason is not None:
            self._plots[(sid, reason)] += int(idx.size)
            return
        if state.open is not None and state.open.t_unix_s != t:
            self._close(state, arrival_mono_s)
        if state.open is None:
            state.open = _Open(t, arrival_mono_s, arrival_mono_s)
        state.open.last_mono_s = arrival_mono_s
        plots, reasons = _checked_plots(state.cfg, decoded, idx)
        state.open.plots.extend(plots)
        if plots:
            self._plots[(sid, ACCEPTED)] += len(plots)
        for r, n in reasons.items():
            self._plots[(sid, r)] += n

    def _close(self, state: _Sensor, arrival_mono_s: float) -> None:
        """End the sensor's open scan; it waits in ``_held`` until :meth:`_release`."""
        scan = state.open
        assert scan is not None
        state.open = None
        state.last_t_unix_s = scan.t_unix_s
        state.scans += 1
        received = Received(Scan(state.cfg.id, scan.t_unix_s, scan.plots), arrival_mono_s)
        self._seq += 1
        heapq.heappush(self._held, (scan.t_unix_s, self._seq, received))

    def _release(self) -> list[Received]:
        """The held scans no open scan is older than, oldest first."""
        opened = [s.open.t_unix_s for s in self._sensors.values() if s.open is not None]
        horizon = min(opened, default=math.inf)
        out = []
        while self._held and self._held[0][0] <= horizon:
            out.append(heapq.heappop(self._held)[2])
        return out


def _checked_plots(
    cfg: SensorConfig, decoded: Decoded, idx: NDArray[np.intp]
) -> tuple[list[Plot], Counter[str]]:
    """The plots at ``idx`` that pass the content checks, and the others' reasons."""
    p = decoded.plots
    sel = slice(None) if idx.size == len(p) else idx  # a view when the run is the datagram
    r, az = p.range_m[sel], p.azimuth_rad[sel]
    h, sp_el, rr = p.height_m[sel], p.elevation_rad[sel], p.range_rate_m_s[sel]
    has_sp = ~np.isnan(sp_el)
    el = np.where(has_sp, sp_el, elevation_from_height_rad(r, h, cfg.alt_m, REACH_TOLERANCE_M))
    max_r = cfg.max_range_km * 1_000.0 + RANGE_MARGIN_SIGMAS * cfg.range_sigma_m
    checks = (  # comparisons with NaN are False, so a NaN fails each "good" test
        ("no_position", np.isnan(r) | np.isnan(az)),
        ("bad_range", ~((r > 0.0) & (r <= max_r))),
        ("bad_azimuth", ~((az >= 0.0) & (az < TWO_PI))),
        ("no_elevation", ~has_sp & np.isnan(h)),
        ("bad_elevation", ~(np.abs(el) <= 0.5 * math.pi)),
        ("bad_range_rate", np.abs(rr) > MAX_RANGE_RATE_M_S),
    )
    reasons: Counter[str] = Counter()
    left = ~np.logical_or.reduce([bad for _, bad in checks])
    if not left.all():
        left[:] = True
        for reason, bad in checks:
            hit = left & bad
            if n := int(hit.sum()):
                reasons[reason] = n
                left &= ~hit
    keep = np.flatnonzero(left)
    plots = [
        Plot(r=a, az=b, el=c, rr=None if d != d else d)
        for a, b, c, d in zip(
            r[keep].tolist(),
            az[keep].tolist(),
            el[keep].tolist(),
            rr[keep].tolist(),
            strict=True,
        )
    ]
    return plots, reasons
