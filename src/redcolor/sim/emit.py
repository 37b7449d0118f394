"""The simulator as an outside radar: a flown scenario's scans sent as ASTERIX over UDP.

``redcolor sim sensors`` prints :func:`registry_of` a scenario; ``redcolor sim emit`` calls
:func:`write_truth` and :func:`emit`. ``serve --simulate`` runs :func:`emit` in a thread against
its own socket, so the simulated path goes through the same encoder, socket and decoder as a
real radar's.

On the wire, per scan of each radar, from that radar's own UDP socket:

1. a CAT034 north marker at the scan's time of day, with the radar's scan period as its antenna
   rotation period (I034/041);
2. the scan's plots as CAT048 target reports (:func:`~redcolor.sensors.asterix.encode_plots`:
   datagrams of at most :data:`~redcolor.sensors.asterix.MAX_DATAGRAM_BYTES`, SIM set), with
   their time of day, range, azimuth, height (or elevation) and radial speed;
3. a CAT034 sector crossing at the same time of day, sector :data:`LAST_SECTOR_RAD`, closing
   the scan (the simulated radars scan electronically: every plot of a scan carries the scan
   time, so the whole scan is one instant and its last "sector" is crossed at once).

Clock: the scenario is shifted to start at ``start_unix_s`` (by default now): a scan at scenario
time ``t`` carries the time ``t + offset_s`` (``offset_s = start_unix_s - scenario start``) and
is sent at the monotonic instant that is ``(t - scenario start) / speed`` after ``start_unix_s``
(pacing on :func:`time.monotonic`, so a wall-clock step does not disturb it). At ``speed`` 1 the
data's time is the wall clock; at ``speed`` X it runs X times faster than the wall clock (the
receiving core must run on that clock too). Noise, misses and clutter are those of the flown
scans (:meth:`~redcolor.sim.run.SimulationResult.scans_of`): the bytes are the simulator's plots,
quantised by the ASTERIX items only. A scan that comes due while the emitter is still sending
the one before goes out at once, late (``late_s``), never skipped.

SAC/SIC (ASSUMPTION, no public allocation applies to a simulator): SAC :data:`SIM_SAC` for every
radar of a scenario, SIC its number in the scenario (1, 2, ...), so the same scenario always
gives the same codes.
"""

from __future__ import annotations

import errno
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from redcolor.errors import InputError
from redcolor.model import Plot
from redcolor.sensors.asterix import encode_plots, encode_service, tod_of_unix_s
from redcolor.sensors.ingest import Ingest, Received
from redcolor.sensors.registry import Registry, SensorConfig, dump_registry
from redcolor.sensors.udp import UdpUrl, parse_udp_url
from redcolor.sim.run import RunInfo, SimulationResult, TruthPoint, TruthRecord

SIM_SAC = 250
"""The System Area Code of simulated radars (assumption, module docstring)."""
LAST_SECTOR_RAD = 2.0 * math.pi * 255.0 / 256.0
"""The sector (I034/020, 1/256 of a turn) whose crossing closes a scan: the last before north."""
MULTICAST_TTL = 1
"""Hops a multicast datagram may take (assumption: the emitter feeds its own network only)."""
DEFAULT_SOURCES = ("127.0.0.1", "::1")
SCAN_TIME_LSB_S = 1e-6
"""The resolution of a simulated scan's time (:class:`~redcolor.sim.radar.RadarModel` rounds)."""


@dataclass(frozen=True, slots=True)
class ScanSent:
    """One scan on the wire: what ``on_scan`` is given after its last datagram went out.

    ``t_unix_s`` the scan time it carried (shifted); ``encode_s`` the time spent making its
    datagrams (flying the radar and encoding), ``send_s`` sending them; ``late_s`` how far after
    its due instant its first datagram went out (0 when on time).
    """

    sensor: str
    t_unix_s: float
    plots: int
    datagrams: int
    bytes_sent: int
    encode_s: float
    send_s: float
    late_s: float
    done: int
    total: int


@dataclass
class EmitSummary:
    """What :func:`emit` sent: counts, the worst lateness, and send errors by errno name."""

    offset_s: float
    speed: float
    radars: tuple[str, ...]
    scans: int = 0
    plots: int = 0
    datagrams: int = 0
    bytes_sent: int = 0
    max_late_s: float = 0.0
    max_scan_s: float = 0.0
    stopped: bool = False
    send_errors: dict[str, int] = field(default_factory=dict)


def registry_of(sim: SimulationResult, sources: Sequence[str] = DEFAULT_SOURCES) -> Registry:
    """The registry of ``sim``'s radars: each one's registration, SAC :data:`SIM_SAC`, SIC its
    number (from 1), ``sources`` the addresses it sends from, ``simulated`` true."""
    if len(sim.registrations) > 255:
        raise InputError(f"{sim.scenario.name}: more than 255 radars do not fit one SAC")
    return Registry(
        tuple(
            SensorConfig(
                **msgspec.structs.asdict(reg),
                sac=SIM_SAC,
                sic=j + 1,
                sources=list(sources),
                simulated=True,
            )
            for j, reg in enumerate(sim.registrations)
        )
    )


def radar_indices(sim: SimulationResult, radars: Sequence[str] | None) -> list[int]:
    """The indices of the radars named ``radars`` (all when None); InputError naming the
    choices for an unknown id."""
    ids = [reg.id for reg in sim.registrations]
    if radars is None:
        return list(range(len(ids)))
    unknown = [r for r in radars if r not in ids]
    if unknown:
        raise InputError(
            f"{sim.scenario.name} has no radar {unknown[0]!r}; its radars: {', '.join(ids)}"
        )
    return sorted({ids.index(r) for r in radars})


def write_truth(
    sim: SimulationResult,
    out_dir: Path,
    registry: Registry,
    *,
    start_unix_s: float,
    speed: float,
    radars: Sequence[str] | None = None,
) -> RunInfo:
    """Write what an emitter starting at ``start_unix_s`` flies, on the clock it sends on:
    ``truth.jsonl`` (times shifted by the offset), ``sensors.toml`` (``registry``) and
    ``run.json`` (:class:`~redcolor.sim.run.RunInfo` with ``offset_s``, ``speed``, the radars
    sent and how many scans they make). InputError if ``out_dir`` cannot be written."""
    offset_s = start_unix_s - sim.start_unix_s
    chosen = radar_indices(sim, radars)
    info = msgspec.structs.replace(
        sim.run_info(offset_s),
        scans=sum(len(sim.scan_times(j)) for j in chosen),
        offset_s=offset_s,
        speed=speed,
        radars=tuple(sim.registrations[j].id for j in chosen),
    )
    enc = msgspec.json.Encoder()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with (out_dir / "truth.jsonl").open("wb") as f:
            for rec in sim.truth:
                f.write(enc.encode(shifted(rec, offset_s)) + b"\n")
        (out_dir / "sensors.toml").write_text(dump_registry(registry), encoding="utf-8")
        (out_dir / "run.json").write_bytes(msgspec.json.format(enc.encode(info)) + b"\n")
    except OSError as exc:
        raise InputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return info


def shifted(rec: TruthRecord, offset_s: float) -> TruthRecord:
    """``rec`` with its launch and impact times ``offset_s`` later (to 1e-6 s, as written)."""

    def point(p: TruthPoint) -> TruthPoint:
        return msgspec.structs.replace(p, t=round(p.t + offset_s, 6))

    return msgspec.structs.replace(rec, launch=point(rec.launch), impact=point(rec.impact))


def emit(
    sim: SimulationResult,
    registry: Registry,
    to_url: str | UdpUrl,
    *,
    speed: float = 1.0,
    start_unix_s: float | None = None,
    radars: Sequence[str] | None = None,
    live_from_unix_s: float | None = None,
    stop: threading.Event | None = None,
    on_scan: Callable[[ScanSent], None] | None = None,
) -> EmitSummary:
    """Send ``sim``'s scans to ``to_url`` in (``speed`` x) real time (module docstring).

    Parameters
    ----------
    sim : the flown scenario.
    registry : its radars' wire identities (:func:`registry_of`); each radar is looked up by id.
    to_url : ``udp://HOST:PORT`` (unicast, or a multicast group with ``?iface=``).
    speed : > 0; the scans go out ``speed`` times faster than real time.
    start_unix_s : the wall-clock time the scenario start is shifted to (default now); several
        emitters given the same one send on one clock.
    radars : the ids of the radars to send (default all).
    live_from_unix_s : send only the scans from this scenario time on (a continued run whose
        earlier scans were fed in process); the pace and the shift are unchanged.
    stop : set it to stop after the scan being sent; the emitter returns ``stopped`` True.
    on_scan : called after each scan is sent (in the emitting thread).

    Returns when every scan is sent or ``stop`` is set. Blocks the calling thread (run it in a
    thread of its own inside a server). InputError for a bad URL, speed or radar id.
    """
    url = parse_udp_url(to_url) if isinstance(to_url, str) else to_url
    if not (math.isfinite(speed) and speed > 0):
        raise InputError(f"speed must be a number > 0, got {speed}")
    chosen = radar_indices(sim, radars)
    configs = {}
    for j in chosen:
        reg_id = sim.registrations[j].id
        cfg = registry.by_id(reg_id)
        if cfg is None:
            raise InputError(f"radar {reg_id!r} is not in the registry")
        configs[reg_id] = cfg
    start = time.time() if start_unix_s is None else start_unix_s
    offset_s = start - sim.start_unix_s
    summary = EmitSummary(offset_s, speed, tuple(configs))
    stop = stop or threading.Event()
    floor = _live_floor(live_from_unix_s)
    total = sum(int(np.count_nonzero(sim.scan_times(j) >= floor)) for j in chosen)
    sockets = {reg_id: _sender(url) for reg_id in configs}
    try:
        # the monotonic instant of the scenario start
        mono0 = time.monotonic() + (start - time.time())
        scans = sim.scans_of(chosen)
        while not stop.is_set():
            began = time.perf_counter()
            scan = next(scans, None)
            if scan is None:
                break
            if scan.t < floor:
                continue
            cfg = configs[scan.sensor]
            datagrams = scan_datagrams(cfg, scan.t + offset_s, scan.plots)
            encoded = time.perf_counter()
            delay = mono0 + (scan.t - sim.start_unix_s) / speed - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            sending = time.perf_counter()
            sent = _send(sockets[scan.sensor], url, datagrams, summary.send_errors)
            done = time.perf_counter()
            summary.scans += 1
            summary.plots += len(scan.plots)
            summary.datagrams += len(datagrams)
            summary.bytes_sent += sent
            late_s = max(0.0, -delay)
            summary.max_late_s = max(summary.max_late_s, late_s)
            summary.max_scan_s = max(summary.max_scan_s, (encoded - began) + (done - sending))
            if on_scan is not None:
                on_scan(
                    ScanSent(
                        scan.sensor,
                        scan.t + offset_s,
                        len(scan.plots),
                        len(datagrams),
                        sent,
                        encoded - began,
                        done - sending,
                        late_s,
                        summary.scans,
                        total,
                    )
                )
    finally:
        for sock in sockets.values():
            sock.close()
    summary.stopped = summary.scans < total
    return summary


def _live_floor(live_from_unix_s: float | None) -> float:
    """The earliest scan time (scenario clock) :func:`emit` sends given ``live_from_unix_s``;
    :func:`replay` takes the scans before it. A scan carries its time to the microsecond (the
    radar model rounds it)."""
    return -math.inf if live_from_unix_s is None else live_from_unix_s - SCAN_TIME_LSB_S


def replay(
    sim: SimulationResult, *, start_unix_s: float, live_from_unix_s: float
) -> Iterator[Received]:
    """The scans :func:`emit` leaves out for ``live_from_unix_s`` (scenario clock), as a core's
    ingest hands them over from the wire: encoded as :func:`emit` sends them (shifted to
    ``start_unix_s``, from the radars of :func:`registry_of`) and decoded by an ingest of their
    own, at once, with no socket. A continued run tracks these as its history, so its tracker
    is rebuilt from the very ASTERIX-quantised plots the interrupted run saw, while the emitter
    sends only what is still to come."""
    registry = registry_of(sim)
    ingest = Ingest(registry)
    offset_s = start_unix_s - sim.start_unix_s
    floor = _live_floor(live_from_unix_s)
    for scan in sim.scans:
        if scan.t >= floor:
            return
        cfg = registry.by_id(scan.sensor)
        assert cfg is not None  # the registry is made from the same radars
        t = scan.t + offset_s
        for data in scan_datagrams(cfg, t, scan.plots):
            yield from ingest.datagram(data, DEFAULT_SOURCES[0], t, time.monotonic())


def scan_datagrams(cfg: SensorConfig, t_unix_s: float, plots: Sequence[Plot]) -> list[bytes]:
    """North marker, plots, sector crossing: one scan of ``cfg`` at ``t_unix_s``."""
    tod_s = tod_of_unix_s(t_unix_s)
    r = [p.r for p in plots]
    az = [p.az for p in plots]
    el = [p.el for p in plots]
    rr = [math.nan if p.rr is None else p.rr for p in plots]
    north = encode_service(
        cfg.sac, cfg.sic, "north_marker", tod_s, rotation_period_s=cfg.scan_period_s
    )
    reports = encode_plots(
        cfg.sac,
        cfg.sic,
        tod_s,
        r,
        az,
        el,
        rr if cfg.range_rate_sigma_m_s is not None else None,
        radar_alt_m=cfg.alt_m,
        simulated=cfg.simulated,
    )
    crossing = encode_service(
        cfg.sac, cfg.sic, "sector_crossing", tod_s, sector_rad=LAST_SECTOR_RAD
    )
    return [north, *reports, crossing]


def _sender(url: UdpUrl) -> socket.socket:
    """A radar's own UDP socket towards ``url`` (unconnected: nobody listening is no error)."""
    sock = socket.socket(url.family, socket.SOCK_DGRAM)
    try:
        if url.multicast and url.family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
            if url.iface is not None:
                iface = socket.inet_aton(url.iface)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
        elif url.multicast:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, MULTICAST_TTL)
            if url.iface is not None:
                index = int(url.iface) if url.iface.isdigit() else socket.if_nametoindex(url.iface)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot send to {url}: {exc.strerror or exc}") from None
    return sock


def _send(sock: socket.socket, url: UdpUrl, datagrams: list[bytes], errors: dict[str, int]) -> int:
    """Send ``datagrams``; a datagram the kernel refuses is counted by errno name, not fatal."""
    sent = 0
    for data in datagrams:
        try:
            sent += sock.sendto(data, (url.host, url.port))
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, "unknown")
            errors[name] = errors.get(name, 0) + 1
    return sent
