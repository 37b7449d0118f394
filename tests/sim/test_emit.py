"""`redcolor sim emit` and `sim sensors`: the simulator as an outside radar, on a real socket.

The emitter (the CLI, or its core in process) sends to a UDP socket on loopback; what
arrives is decoded with libasterix (the reference codec) and compared, message by message, with
the scans the simulator made, to within each field's ASTERIX resolution (half an LSB: the
encoder rounds). The same datagrams go through the ingest, which must assemble the same scans.
"""

from __future__ import annotations

import dataclasses
import json
import math
import socket
import threading
import time
from collections import defaultdict
from typing import Any

import asterix.generated as gen
import msgspec
import pytest
from asterix import base

from redcolor.cli.main import main
from redcolor.model import Scan
from redcolor.physics.ballistics import EARTH_MEAN_RADIUS_M
from redcolor.sensors.ingest import Ingest
from redcolor.sensors.registry import load_registry
from redcolor.sim.emit import SIM_SAC, ScanSent, emit, registry_of, replay, shifted
from redcolor.sim.run import SimulationResult, simulate
from redcolor.sim.scenario import load_scenario

C48, C34 = gen.Cat_048_1_32, gen.Cat_034_1_29
DEG = "°"
HALF_TOD_S = 0.5 / 128
HALF_RHO_M = 0.5 * 1852.0 / 256
HALF_THETA_RAD = 0.5 * 2 * math.pi / 65_536
HALF_HEIGHT_M = 0.5 * 25 * 0.3048
HALF_CAL_M_S = 0.5
HALF_SP_RANGE_M, HALF_SP_EL_RAD, HALF_SP_RR_M_S = 0.005, 0.5e-7, 0.005
EPS = 1e-9


class Receiver:
    """A UDP socket on loopback collecting (datagram, source address) until told to stop."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"udp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.got: list[tuple[bytes, tuple[str, int]]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.got.append(self.sock.recvfrom(65_536))
            except TimeoutError:
                if self._done.is_set():
                    return

    def close(self) -> list[tuple[bytes, tuple[str, int]]]:
        self._done.set()
        self._thread.join()
        self.sock.close()
        return self.got


def _records(datagram: bytes) -> list[tuple[int, Any]]:
    """The (category, record) pairs of a datagram, read by libasterix."""
    blocks = base.RawDatablock.parse(base.Bits.from_bytes(datagram))
    assert not isinstance(blocks, ValueError)
    out = []
    for db in blocks:
        cat = db.get_category()
        recs = {48: C48, 34: C34}[cat].cv_uap.parse(db.get_raw_records())
        assert not isinstance(recs, ValueError)
        out.extend((cat, rec) for rec in recs)
    return out


def _sp(rec: Any) -> dict[str, float]:
    """redcolor's SP fields (TAG 0xC1, MASK, big-endian u32/i32; documented in the codec)."""
    item = rec.get_item("SP")
    raw = b"" if item is None else item.variation.get_bytes()
    out: dict[str, float] = {}
    if raw[:1] != b"\xc1":
        return out
    mask, at = raw[1], 2
    for bit, name, signed, lsb in ((0x80, "r", False, 0.01), (0x40, "el", True, 1e-7),
                                   (0x20, "rr", True, 0.01)):  # fmt: skip
        if mask & bit:
            out[name] = int.from_bytes(raw[at : at + 4], "big", signed=signed) * lsb
            at += 4
    return out


def _height_m(r: float, el: float, alt_m: float) -> float:
    """Height above the sphere of a target at slant range ``r``, elevation ``el`` (straight
    line of sight, the codec's documented assumption), written out here independently."""
    a = EARTH_MEAN_RADIUS_M + alt_m
    return math.sqrt(r * r + a * a + 2.0 * r * a * math.sin(el)) - EARTH_MEAN_RADIUS_M


def _tod_err(got: float, t_unix_s: float) -> float:
    return abs((got - t_unix_s % 86_400.0 + 43_200.0) % 86_400.0 - 43_200.0)


def _angle_err(a: float, b: float) -> float:
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


def _check_service(rec: Any, kind: int, t_unix_s: float, sac: int, sic: int) -> None:
    i010 = rec.get_item("010").variation
    assert (i010.get_item("SAC").as_uint(), i010.get_item("SIC").as_uint()) == (sac, sic)
    assert rec.get_item("000").variation.content.as_uint() == kind
    assert _tod_err(rec.get_item("030").variation.content.as_quantity("s"), t_unix_s) <= HALF_TOD_S


def _check_plot(rec: Any, plot: Any, t_unix_s: float, sac: int, sic: int, cfg: Any) -> None:
    i010 = rec.get_item("010").variation
    assert (i010.get_item("SAC").as_uint(), i010.get_item("SIC").as_uint()) == (sac, sic)
    assert _tod_err(rec.get_item("140").variation.content.as_quantity("s"), t_unix_s) <= HALF_TOD_S
    i020 = rec.get_item("020").variation
    assert i020.get_item("TYP").as_uint() == 1 and i020.get_item("SIM").as_uint() == 1
    sp = _sp(rec)
    pos = rec.get_item("040").variation
    rho_m = pos.get_item("RHO").variation.content.as_quantity("NM") * 1852.0
    r = sp.get("r", rho_m)
    tol_r = HALF_SP_RANGE_M if "r" in sp else HALF_RHO_M
    assert abs(r - plot.r) <= tol_r + EPS * plot.r
    az = math.radians(pos.get_item("THETA").variation.content.as_quantity(DEG))
    assert _angle_err(az, plot.az) <= HALF_THETA_RAD + EPS
    i110 = rec.get_item("110")
    if "el" in sp:
        assert i110 is None and abs(sp["el"] - plot.el) <= HALF_SP_EL_RAD + EPS
    else:
        h_m = i110.variation.get_item("3DH").variation.content.as_quantity("ft") * 0.3048
        assert abs(h_m - _height_m(plot.r, plot.el, cfg.alt_m)) <= HALF_HEIGHT_M + 1e-6
    i120 = rec.get_item("120")
    if plot.rr is None:
        assert i120 is None and "rr" not in sp
    elif "rr" in sp:
        assert i120 is None and abs(sp["rr"] - plot.rr) <= HALF_SP_RR_M_S + EPS
    else:
        cal = i120.variation.get_item("CAL").variation
        assert cal.get_item("D").as_uint() == 0
        assert abs(cal.get_item("CAL").variation.content.as_quantity("m/s") - plot.rr) <= (
            HALF_CAL_M_S + EPS
        )


def _compare(sim: SimulationResult, got: list[tuple[bytes, tuple[str, int]]], offset_s: float,
             radars: list[int]) -> list[tuple[bytes, str, float]]:  # fmt: skip
    """Check the received messages against the simulator's scans, radar by radar, in order;
    return (datagram, source address, its scan time) in arrival order."""
    registry = registry_of(sim)
    by_port: dict[int, list[tuple[int, bytes, Any]]] = defaultdict(list)
    for i, (data, (host, port)) in enumerate(got):
        assert host == "127.0.0.1"
        for cat, rec in _records(data):
            by_port[port].append((i, cat, rec))
    assert len(by_port) == len(radars)  # one socket per radar
    times: dict[int, float] = {}
    seen = set()
    for port, messages in by_port.items():
        first = messages[0][2].get_item("010").variation
        sac, sic = first.get_item("SAC").as_uint(), first.get_item("SIC").as_uint()
        assert sac == SIM_SAC
        j = sic - 1
        seen.add(j)
        cfg = registry.sensors[j]
        expected: list[tuple[str, float, Any]] = []
        for scan in sim.scans_of([j]):
            t = scan.t + offset_s
            expected += [("north", t, None), *(("plot", t, p) for p in scan.plots),
                         ("crossing", t, None)]  # fmt: skip
        assert len(messages) == len(expected), f"port {port}"
        for (i, cat, rec), (what, t, plot) in zip(messages, expected, strict=True):
            times[i] = t
            if what == "plot":
                assert cat == 48
                _check_plot(rec, plot, t, sac, sic, cfg)
            else:
                assert cat == 34
                _check_service(rec, 1 if what == "north" else 2, t, sac, sic)
                if what == "north":
                    period = rec.get_item("041").variation.content.as_quantity("s")
                    assert abs(period - cfg.scan_period_s) <= HALF_TOD_S
    assert seen == set(radars)
    return [(data, host, times[i]) for i, (data, (host, _)) in enumerate(got)]


@pytest.mark.slow
def test_emitted_scans_decode_with_libasterix_to_the_simulated_plots() -> None:
    """ballistic-center's long-range radar: ranges to 1,500 km and apogees of hundreds of km
    (the SP fields) and Doppler, over a real socket (the emitter's core, flown once here)."""
    sim = simulate(load_scenario("ballistic-center"))
    start = time.time()
    rx = Receiver()
    try:
        done = emit(sim, registry_of(sim), rx.url, speed=1000.0, start_unix_s=start,
                    radars=["negev-lr"])  # fmt: skip
        time.sleep(0.2)
    finally:
        got = rx.close()
    summary = dataclasses.asdict(done)
    offset_s = start - sim.start_unix_s
    assert summary["offset_s"] == pytest.approx(offset_s)
    assert summary["datagrams"] == len(got) and summary["send_errors"] == {}
    assert not summary["stopped"] and summary["scans"] == len(sim.scan_times(0))
    sent = _compare(sim, got, offset_s, [0])
    assert any(_sp(rec) for data, _, _ in sent for _, rec in _records(data))

    # the same bytes through the ingest: the simulator's scans
    ingest = Ingest(registry_of(sim))
    scans: list[Scan] = []
    for data, host, t in sent:
        scans += [r.scan for r in ingest.datagram(data, host, t, time.monotonic())]
    assert set(ingest.counts.datagrams) == {("negev-lr", "accepted")}
    assert sum(ingest.counts.datagrams.values()) == len(got)
    flown = list(sim.scans_of([0]))
    assert [len(s.plots) for s in scans] == [len(s.plots) for s in flown]
    for mine, theirs in zip(scans, flown, strict=True):
        assert mine.sensor == theirs.sensor
        assert abs(mine.t - (theirs.t + offset_s)) <= HALF_TOD_S
        for p, q in zip(mine.plots, theirs.plots, strict=True):
            assert abs(p.r - q.r) <= HALF_RHO_M + EPS * q.r
            assert _angle_err(p.az, q.az) <= HALF_THETA_RAD + EPS
            # from a height to 25 ft and a range to 1/256 NM (el ~ asin(h / r): d el = (d h /
            # cos el + tan el d r) / r, 5 % for the Earth's curvature), or from SP to 1e-7 rad
            slope = HALF_HEIGHT_M / math.cos(q.el) + abs(math.tan(q.el)) * HALF_RHO_M
            assert abs(p.el - q.el) <= 1.05 * slope / q.r + 1e-7
            assert abs(p.rr - q.rr) <= HALF_CAL_M_S + EPS


@pytest.mark.slow
def test_truth_out_is_what_was_flown_on_the_emitted_clock(tmp_path) -> None:
    """meron-2024-01-06, both radars (one with Doppler, one without), from the CLI in process."""
    sim = simulate(load_scenario("meron-2024-01-06"))
    start = time.time() + 0.25
    rx = Receiver()
    try:
        args = ["sim", "emit", "meron-2024-01-06", "--to", rx.url, "--speed", "1000",
                "--start-unix-s", repr(start), "--json", "--truth-out", str(tmp_path)]  # fmt: skip
        assert main(args) == 0
        time.sleep(0.2)
    finally:
        got = rx.close()
    offset_s = start - sim.start_unix_s
    _compare(sim, got, offset_s, [0, 1])
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["offset_s"] == pytest.approx(offset_s) and info["speed"] == 1000
    assert info["radars"] == ["galilee-1", "carmel-1"] and info["source"] == "meron-2024-01-06"
    assert info["start_unix_s"] == pytest.approx(start)
    assert info["end_unix_s"] == pytest.approx(sim.end_unix_s + offset_s)
    assert info["scans"] == sim.scan_count()
    lines = (tmp_path / "truth.jsonl").read_bytes().splitlines()
    assert len(lines) == len(sim.truth)
    enc = msgspec.json.Encoder()
    for line, rec in zip(lines, sim.truth, strict=True):
        assert line == enc.encode(shifted(rec, offset_s))
        back = json.loads(line)
        assert back["impact"]["t"] == pytest.approx(rec.impact.t + offset_s, abs=1e-6)
        assert back["launch"]["t"] == pytest.approx(rec.launch.t + offset_s, abs=1e-6)
        assert (back["impact"]["lat"], back["id"]) == (rec.impact.lat, rec.id)
    assert load_registry(tmp_path / "sensors.toml") == registry_of(sim)


def test_sim_sensors_prints_a_registry_that_loads(capsys, tmp_path) -> None:
    assert main(["sim", "sensors", "meron-2024-01-06"]) == 0
    path = tmp_path / "sensors.toml"
    path.write_text(capsys.readouterr().out)
    registry = load_registry(path)
    sim = simulate(load_scenario("meron-2024-01-06"))
    assert registry == registry_of(sim)
    assert [(s.id, s.sac, s.sic, s.simulated) for s in registry.sensors] == [
        ("galilee-1", SIM_SAC, 1, True),
        ("carmel-1", SIM_SAC, 2, True),
    ]
    for cfg, reg in zip(registry.sensors, sim.registrations, strict=True):
        assert msgspec.structs.asdict(reg).items() <= msgspec.structs.asdict(cfg).items()
        assert cfg.sources == ["127.0.0.1", "::1"]
    args = ["sim", "sensors", "meron-2024-01-06", "--json", "--source", "10.0.0.0/8"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["sources"] for d in doc] == [["10.0.0.0/8"]] * 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sim", "emit", "meron-2024-01-06", "--to", "tcp://127.0.0.1:9"], "bad UDP address"),
        (["sim", "emit", "meron-2024-01-06", "--to", "udp://localhost:9"], "IP address"),
        (["sim", "emit", "no-such-scenario", "--to", "udp://127.0.0.1:9"], "meron-2024-01-06"),
        (["sim", "emit", "meron-2024-01-06", "--to", "udp://127.0.0.1:9", "--radar", "x"],
         "galilee-1, carmel-1"),
        (["sim", "emit", "meron-2024-01-06", "--to", "udp://127.0.0.1:9", "--speed", "0"],
         "speed"),
        (["sim", "sensors", "meron-2024-01-06", "--source", "not-an-ip"], "not-an-ip"),
        (["sim", "sensors", "no-such-scenario"], "meron-2024-01-06"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2(capsys, args, needle) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("redcolor: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_emit_in_process_stops_when_told_and_sends_only_its_radars() -> None:
    """The core a server runs in a thread: paced in real time, stopped by an event."""
    sim = simulate(load_scenario("meron-2024-01-06"))
    rx = Receiver()
    stop = threading.Event()
    sent: list[ScanSent] = []

    def on_scan(s: ScanSent) -> None:
        sent.append(s)
        if len(sent) == 3:
            stop.set()

    try:
        summary = emit(sim, registry_of(sim), rx.url, speed=4.0, radars=["galilee-1"],
                       stop=stop, on_scan=on_scan)  # fmt: skip
    finally:
        got = rx.close()
    assert summary.stopped and summary.scans == 3 and summary.radars == ("galilee-1",)
    assert [s.sensor for s in sent] == ["galilee-1"] * 3
    assert [s.done for s in sent] == [1, 2, 3] and sent[0].total == len(sim.scan_times(0))
    times = [s.t_unix_s - summary.offset_s for s in sent]
    assert times == pytest.approx(sim.scan_times(0)[:3].tolist())
    assert summary.datagrams == len(got) == sum(s.datagrams for s in sent)
    records = [rec for data, _ in got for _, rec in _records(data)]
    assert {rec.get_item("010").variation.get_item("SIC").as_uint() for rec in records} == {1}


def test_a_continued_run_sends_only_the_scans_from_where_it_went_live() -> None:
    sim = simulate(load_scenario("meron-2024-01-06"))
    times = sim.scan_times(1)
    rx = Receiver()
    sent: list[ScanSent] = []
    try:
        summary = emit(sim, registry_of(sim), rx.url, speed=1000.0, radars=["carmel-1"],
                       live_from_unix_s=float(times[-4]), on_scan=sent.append)  # fmt: skip
    finally:
        got = rx.close()
    assert not summary.stopped and summary.scans == 4 and sent[-1].total == 4
    assert [s.t_unix_s - summary.offset_s for s in sent] == pytest.approx(times[-4:].tolist())
    assert summary.datagrams == len(got)


def _ingested(
    sim: SimulationResult, got: list[tuple[bytes, tuple[str, int]]], now_unix_s: float
) -> list[Scan]:
    """What a core's ingest hands over from the datagrams ``got``, read at about ``now_unix_s``
    (the day of their time of day; the whole run is within the skew tolerance)."""
    ingest = Ingest(registry_of(sim), max_skew_s=3600.0)
    out = [r.scan for data, (ip, _) in got for r in ingest.datagram(data, ip, now_unix_s, 0.0)]
    return out + [r.scan for r in ingest.due(math.inf, math.inf)]


def test_replayed_history_then_the_live_rest_is_exactly_the_whole_run_on_the_wire() -> None:
    """A continued run tracks ``replay`` up to where it went live, then what ``emit`` sends
    from there: scan for scan (sensor, time, every plot) the run sent whole over a socket."""
    sim = simulate(load_scenario("sderot-gaza"))
    start = time.time()  # the emitter paces from here (a later start would wait for it)
    live_from = float(sorted(t for j in range(len(sim.radars)) for t in sim.scan_times(j))[7])
    whole, rest = Receiver(), Receiver()
    try:
        emit(sim, registry_of(sim), whole.url, speed=1000.0, start_unix_s=start)
        emit(sim, registry_of(sim), rest.url, speed=1000.0, start_unix_s=start,
             live_from_unix_s=live_from)  # fmt: skip
    finally:
        everything, tail = whole.close(), rest.close()
    history = [r.scan for r in replay(sim, start_unix_s=start, live_from_unix_s=live_from)]
    assert len(history) == 7 and all(s.t < live_from + start - sim.start_unix_s for s in history)
    assert history + _ingested(sim, tail, start) == _ingested(sim, everything, start)
