"""The ingest core: datagrams from the real encoder (or built by hand) to scans and counts."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from redcolor.sensors import asterix as ax
from redcolor.sensors.ingest import ACCEPTED, REACH_TOLERANCE_M, Ingest, Received
from redcolor.sensors.registry import Registry, SensorConfig

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 12, 3, tzinfo=UTC).timestamp()


def _cfg(sensor_id: str, sic: int, **kw: object) -> SensorConfig:
    base: dict[str, object] = dict(
        id=sensor_id, lat=32.0, lon=34.8, alt_m=100.0, scan_period_s=1.0, range_sigma_m=20.0,
        angle_sigma_mrad=1.0, detection_probability=0.9, false_alarms_per_scan=0.0,
        max_range_km=1_500.0, sac=1, sic=sic, sources=["127.0.0.1", "10.0.0.0/8"],
    )  # fmt: skip
    base.update(kw)
    return SensorConfig(**base)  # type: ignore[arg-type]


REGISTRY = Registry(
    (
        _cfg("a", 1),
        _cfg(
            "b",
            2,
            simulated=True,
            clock_offset_s=3.0,
            scan_period_s=2.0,
            alt_m=0.0,
            sources=["10.1.0.0/16"],
        ),
        _cfg("c", 3, sources=["::1"], max_range_km=100.0),
    )
)
IDS = {"a": 1, "b": 2, "c": 3}
SRC = {"a": "127.0.0.1", "b": "10.1.1.1", "c": "::1"}


def _tod(sensor: str, t_unix_s: float) -> float:
    """The time of day sensor ``sensor`` writes for the true time ``t_unix_s``."""
    cfg = REGISTRY.by_id(sensor)
    assert cfg is not None
    return ax.tod_of_unix_s(t_unix_s - cfg.clock_offset_s)


def nm(sensor: str, t: float) -> bytes:
    return ax.encode_service(1, IDS[sensor], "north_marker", _tod(sensor, t))


def sc(sensor: str, t: float) -> bytes:
    return ax.encode_service(1, IDS[sensor], "sector_crossing", _tod(sensor, t))


def plots(
    sensor: str,
    t: float,
    r: list[float],
    el: list[float] | None = None,
    rr: list[float] | None = None,
    *,
    simulated: bool | None = None,
) -> bytes:
    cfg = REGISTRY.by_id(sensor)
    assert cfg is not None
    n = len(r)
    sim = cfg.simulated if simulated is None else simulated
    out = ax.encode_plots(
        1, IDS[sensor], _tod(sensor, t), r, np.linspace(0.1, 6.0, n), el or [0.1] * n, rr,
        radar_alt_m=cfg.alt_m, simulated=sim,
    )  # fmt: skip
    assert len(out) == 1
    return out[0]


def record48(sac: int, sic: int, items: dict[int, bytes]) -> bytes:
    """One CAT048 record with the given items by FRN (the FSPEC computed)."""
    top = max(items)
    octets = (top + 6) // 7
    fspec = bytearray(octets)
    for frn in items:
        fspec[(frn - 1) // 7] |= 0x80 >> ((frn - 1) % 7)
    for i in range(octets - 1):
        fspec[i] |= 1
    body = b"".join(items[k] for k in sorted(items))
    return bytes(fspec) + bytes((sac, sic)) + body if 1 in items else bytes(fspec) + body


def block48(*records: bytes) -> bytes:
    body = b"".join(records)
    return bytes((48, (len(body) + 3) >> 8, (len(body) + 3) & 0xFF)) + body


def tod_item(tod_s: float) -> bytes:
    return round(tod_s * 128).to_bytes(3, "big")


class Run:
    """An ingest with a wall clock and a monotonic clock that move together."""

    def __init__(self, now: float = NOW, **kw: float) -> None:
        self.ingest = Ingest(REGISTRY, **kw)
        self.now = now
        self.mono = 1_000.0
        self.sent = 0

    def send(self, data: bytes, sensor: str = "a", *, source: str | None = None) -> list[Received]:
        self.sent += 1
        src = SRC[sensor] if source is None else source
        return self.ingest.datagram(data, src, self.now, self.mono)

    def wait(self, dt_s: float) -> None:
        self.now += dt_s
        self.mono += dt_s

    def plots(self, sensor: str, result: str) -> int:
        return self.ingest.counts.plots.get((sensor, result), 0)

    def datagrams(self, sensor: str, result: str) -> int:
        return self.ingest.counts.datagrams.get((sensor, result), 0)

    def services(self, sensor: str, result: str) -> int:
        return self.ingest.counts.services.get((sensor, result), 0)

    def check_totals(self) -> None:
        assert sum(self.ingest.counts.datagrams.values()) == self.sent


# --- scan assembly ---------------------------------------------------------------------------


def test_north_marker_plots_sector_crossing_make_one_scan() -> None:
    run = Run()
    t = run.now
    assert run.send(nm("a", t)) == []
    run.wait(0.01)
    assert run.send(plots("a", t, [10_000.0, 20_000.0])) == []
    run.wait(0.01)
    assert run.send(plots("a", t, [30_000.0])) == []
    run.wait(0.01)
    (got,) = run.send(sc("a", t))
    assert got.scan.sensor == "a" and got.scan.t == t
    assert got.arrival_mono_s == run.mono
    rho_m = 1852 / 256  # I048/040 RHO LSB
    r = [p.r for p in got.scan.plots]
    assert r == pytest.approx([10_000, 20_000, 30_000], abs=rho_m / 2)
    assert all(p.rr is None for p in got.scan.plots)
    assert run.plots("a", ACCEPTED) == 3 and run.services("a", ACCEPTED) == 2
    assert run.ingest.counts.scans["a"] == 1
    run.check_totals()


def test_a_north_marker_closes_the_scan_before_it_and_opens_the_next() -> None:
    run = Run()
    t0, t1, t2 = run.now, run.now + 1.0, run.now + 2.0
    run.send(nm("a", t0))
    run.send(plots("a", t0, [10_000.0]))
    run.wait(1.0)
    (first,) = run.send(nm("a", t1))
    assert first.scan.t == t0 and len(first.scan.plots) == 1
    run.send(plots("a", t1, [11_000.0, 12_000.0]))
    run.wait(1.0)
    (second,) = run.send(plots("a", t2, [13_000.0]))  # another time of day closes it too
    assert second.scan.t == t1 and len(second.scan.plots) == 2
    assert run.ingest.pending_unix_s() == t2
    run.check_totals()


def test_a_scan_nobody_closes_is_handed_over_one_period_after_its_last_datagram() -> None:
    run = Run()
    t = run.now
    run.send(nm("a", t))
    run.wait(0.4)
    run.send(plots("a", t, [10_000.0]))
    last_arrival = run.mono
    run.wait(0.99)
    assert run.ingest.due(run.now, run.mono) == []
    run.wait(0.01)
    (got,) = run.ingest.due(run.now, run.mono)
    assert got.scan.t == t and got.arrival_mono_s == last_arrival
    assert run.ingest.due(run.now, run.mono) == [] and run.ingest.pending_unix_s() is None


def test_a_scan_kept_busy_at_one_time_of_day_ends_two_periods_after_it_opened() -> None:
    run = Run()
    t = run.now
    opened = run.mono
    for _ in range(4):
        run.send(plots("a", t, [10_000.0]))
        assert run.ingest.due(run.now, run.mono) == []
        run.wait(0.5)
    assert run.mono - opened == 2.0
    (got,) = run.ingest.due(run.now, run.mono)
    assert len(got.scan.plots) == 4 and got.arrival_mono_s == opened + 1.5
    run.send(plots("a", t, [10_000.0]))
    assert run.plots("a", "replayed") == 1


def test_an_empty_scan_is_handed_over() -> None:
    run = Run()
    run.send(nm("a", run.now))
    (got,) = run.send(sc("a", run.now))
    assert got.scan.plots == []


def test_plots_without_north_markers_form_scans_by_time_of_day() -> None:
    run = Run()
    t0 = run.now
    run.send(plots("a", t0, [10_000.0]))
    run.send(plots("a", t0, [10_500.0]))
    run.wait(1.0)
    (got,) = run.send(plots("a", t0 + 1.0, [11_000.0]))
    assert got.scan.t == t0 and len(got.scan.plots) == 2
    run.wait(1.0)
    (got,) = run.ingest.due(run.now, run.mono)
    assert got.scan.t == t0 + 1.0


def test_one_datagram_with_marker_plots_and_crossing_is_one_whole_scan() -> None:
    run = Run()
    t0, t1 = run.now - 1.0, run.now
    run.send(nm("a", t0))
    # the previous scan's crossing, then a whole scan, in one datagram of four datablocks
    out = run.send(sc("a", t0) + nm("a", t1) + plots("a", t1, [9_000.0, 9_100.0]) + sc("a", t1))
    assert [(r.scan.t, len(r.scan.plots)) for r in out] == [(t0, 0), (t1, 2)]
    assert run.datagrams("a", ACCEPTED) == 2 and run.services("a", ACCEPTED) == 4


def test_a_plot_older_than_the_open_scan_does_not_close_it() -> None:
    run = Run()
    t0, t1 = run.now - 1.0, run.now
    run.send(nm("a", t1))
    assert run.send(plots("a", t0, [10_000.0])) == []
    assert run.plots("a", "out_of_order") == 1
    (got,) = run.send(plots("a", t1, [10_000.0]) + sc("a", t1))
    assert got.scan.t == t1 and len(got.scan.plots) == 1


def test_scans_come_out_in_time_order_across_sensors() -> None:
    run = Run()
    t0, t1 = run.now, run.now + 0.25
    run.send(nm("a", t0))
    run.send(nm("c", t1), "c")
    run.send(plots("c", t1, [20_000.0]), "c")
    assert run.send(sc("c", t1), "c") == []  # waits: a's older scan is still open
    c_done = run.mono
    assert run.ingest.pending_unix_s() == t0
    run.wait(0.05)
    run.send(plots("a", t0, [10_000.0]))
    out = run.send(sc("a", t0))
    assert [(r.scan.sensor, r.scan.t) for r in out] == [("a", t0), ("c", t1)]
    assert out[0].arrival_mono_s == run.mono and out[1].arrival_mono_s == c_done
    assert run.ingest.pending_unix_s() is None


def test_a_sensor_silent_mid_scan_holds_the_others_until_its_scan_times_out() -> None:
    run = Run()
    t0 = run.now
    run.send(nm("a", t0))  # and then nothing more from a
    for k in (1, 2):
        t = t0 + 0.5 * k
        assert run.send(nm("c", t) + plots("c", t, [20_000.0]) + sc("c", t), "c") == []
        run.wait(0.5)
        if k == 1:
            assert run.ingest.due(run.now, run.mono) == []
    # one period after a's only datagram its scan times out, and c's come out after it
    out = run.ingest.due(run.now, run.mono)
    assert [(r.scan.sensor, r.scan.t) for r in out] == [("a", t0), ("c", t0 + 0.5), ("c", t0 + 1.0)]
    assert run.ingest.pending_unix_s() is None


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "scan_t"),
    [
        (MIDNIGHT + 1.0, MIDNIGHT - 0.5),  # sent just before midnight, received just after
        (MIDNIGHT - 1.0, MIDNIGHT + 0.5),  # a clock slightly ahead, across midnight
        (MIDNIGHT, MIDNIGHT - 1 / 128),
        (MIDNIGHT - 1 / 128, MIDNIGHT),
    ],
)
def test_time_of_day_wraps_at_midnight(now: float, scan_t: float) -> None:
    run = Run(now)
    run.send(nm("a", scan_t))
    run.send(plots("a", scan_t, [10_000.0]))
    (got,) = run.send(sc("a", scan_t))
    assert got.scan.t == pytest.approx(scan_t, abs=1 / 256)


def test_the_clock_offset_is_added_to_the_time_of_day() -> None:
    run = Run()
    t = run.now
    run.send(nm("b", t), "b")  # b's clock reads t - 3 s
    run.send(plots("b", t, [10_000.0]), "b")
    (got,) = run.send(sc("b", t), "b")
    assert got.scan.t == pytest.approx(t, abs=1 / 256)
    assert ax.encode_service(1, 2, "north_marker", ax.tod_of_unix_s(t)) != nm("b", t)


def test_times_too_far_from_now_are_dropped_as_clock_skew() -> None:
    run = Run(max_skew_s=30.0)
    run.send(nm("a", run.now + 31.0))
    run.send(plots("a", run.now - 31.0, [10_000.0, 10_100.0]))
    assert run.services("a", "clock_skew") == 1 and run.plots("a", "clock_skew") == 2
    assert run.ingest.pending_unix_s() is None
    run.send(plots("a", run.now - 29.0, [10_000.0]))
    assert run.plots("a", ACCEPTED) == 1
    run.check_totals()


def test_replayed_and_out_of_order_scans_are_dropped() -> None:
    run = Run()
    t0, t1 = run.now - 2.0, run.now - 1.0
    scan = [nm("a", t1), plots("a", t1, [10_000.0]), sc("a", t1)]
    assert [len(run.send(d)) for d in scan] == [0, 0, 1]
    assert [len(run.send(d)) for d in scan] == [0, 0, 0]  # the same scan again
    assert run.services("a", "replayed") == 2 and run.plots("a", "replayed") == 1
    older = [nm("a", t0), plots("a", t0, [10_000.0, 10_200.0]), sc("a", t0)]
    assert [len(run.send(d)) for d in older] == [0, 0, 0]
    assert run.services("a", "out_of_order") == 2 and run.plots("a", "out_of_order") == 2
    assert run.ingest.counts.scans["a"] == 1
    (newer,) = run.send(plots("a", run.now, [10_000.0]) + sc("a", run.now))
    assert newer.scan.t == run.now
    run.check_totals()


# --- who may send ----------------------------------------------------------------------------


def test_unregistered_sensors_and_bad_sources_are_dropped_and_counted() -> None:
    run = Run()
    stranger = ax.encode_plots(9, 9, _tod("a", run.now), [1e4, 2e4], [0.1, 0.2], [0.1, 0.1],
                               None, radar_alt_m=0.0, simulated=False)[0]  # fmt: skip
    assert run.send(stranger) == []
    assert run.datagrams("unregistered", "unregistered") == 1
    assert run.plots("unregistered", "unregistered") == 2
    run.send(nm("a", run.now), source="192.168.1.1")
    run.send(plots("a", run.now, [1e4]), source="::1")
    run.send(plots("a", run.now, [1e4]), source="not-an-address")
    assert run.datagrams("a", "bad_source") == 3 and run.plots("a", "bad_source") == 2
    assert run.services("a", "bad_source") == 1
    assert run.send(nm("a", run.now), source="::ffff:10.3.4.5") == []  # mapped IPv4 is IPv4
    assert run.datagrams("a", ACCEPTED) == 1
    run.check_totals()


def test_datagrams_that_do_not_decode_count_under_the_sender_of_their_address() -> None:
    run = Run()
    run.send(b"")
    run.send(bytes([62, 0, 3]), source="10.0.0.9")
    run.send(bytes([48, 0, 9, 0]), source="8.8.8.8")
    run.send(bytes([34, 0, 3]))  # datablocks of no record
    run.send(bytes([48, 0, 3, 48, 0, 3]))
    assert run.datagrams("a", "empty") == 1 and run.datagrams("a", "wrong_category") == 1
    assert run.datagrams("unregistered", "bad_length") == 1
    assert run.datagrams("a", "no_records") == 2
    run.check_totals()


def test_a_datagram_mixing_sensors_is_refused_whole() -> None:
    run = Run()
    assert run.send(nm("a", run.now) + plots("b", run.now, [1e4])) == []
    assert run.datagrams("a", "mixed_sensors") == 1
    assert run.plots("a", "mixed_sensors") == 1 and run.services("a", "mixed_sensors") == 1


def test_simulated_reports_only_from_a_simulated_sensor() -> None:
    run = Run()
    run.send(plots("a", run.now, [1e4, 2e4], simulated=True))
    assert run.plots("a", "simulated") == 2
    run.send(plots("b", run.now, [1e4], simulated=True), "b")
    run.send(plots("b", run.now, [2e4], simulated=False), "b")
    assert run.plots("b", ACCEPTED) == 2


# --- plot values -----------------------------------------------------------------------------


def test_elevation_comes_from_the_height_or_from_sp() -> None:
    run = Run()
    t = run.now
    r = [50_000.0, 1_000_000.0, 1_200_000.0]
    el = [0.2, 0.5, 0.001]  # 10 km high (I048/110); ~700 km high (SP); beyond RHO's range (SP)
    run.send(plots("a", t, r, el, [-30.0, 2_500.0, 100.0]))
    (got,) = run.send(sc("a", t))
    p = got.scan.plots
    assert p[0].el == pytest.approx(el[0], abs=25 * 0.3048 / r[0])  # one height LSB
    assert p[1].el == pytest.approx(el[1], abs=1e-7) and p[2].el == pytest.approx(el[2], abs=1e-7)
    assert p[1].r == pytest.approx(r[1], abs=1852 / 256) and p[2].r == pytest.approx(r[2], abs=0.01)
    assert [q.rr for q in p] == [-30.0, 2_500.0, 100.0]


def test_each_bad_plot_is_dropped_with_its_reason() -> None:
    run = Run()
    tod = tod_item(_tod("a", run.now))
    polar = round(20_000 / 1852 * 256).to_bytes(2, "big") + (1000).to_bytes(2, "big")
    zero = (0).to_bytes(4, "big")
    h60 = (round(60_000 / 0.3048 / 25)).to_bytes(2, "big")
    h1 = (round(1_000 / 0.3048 / 25)).to_bytes(2, "big")
    records = [
        record48(1, 1, {1: b"", 2: tod, 3: b"\x20", 4: polar, 19: h1}),   # good
        record48(1, 1, {1: b"", 2: tod, 3: b"\x20"}),                     # no_position
        record48(1, 1, {1: b"", 2: tod, 3: b"\x20", 4: zero, 19: h1}),    # range 0
        record48(1, 1, {1: b"", 2: tod, 3: b"\x20", 4: polar}),           # no_elevation
        record48(1, 1, {1: b"", 2: tod, 3: b"\x20", 4: polar, 19: h60}),  # out of reach
        record48(1, 1, {1: b"", 3: b"\x20", 4: polar, 19: h1}),           # no_time
    ]  # fmt: skip
    run.send(block48(*records))
    # beyond the 1500 km range (+ 6 sigma), a radial speed beyond 12 km/s
    run.send(plots("a", run.now, [1_600_000.0, 10_000.0], rr=[0.0, 20_000.0]))
    (got,) = run.send(sc("a", run.now))
    assert len(got.scan.plots) == 1
    for reason, n in [("no_position", 1), ("bad_range", 2), ("no_elevation", 1),
                      ("bad_elevation", 1), ("no_time", 1), ("bad_range_rate", 1)]:  # fmt: skip
        assert run.plots("a", reason) == n, reason
    assert run.plots("a", ACCEPTED) == 1
    assert sum(run.ingest.counts.plots.values()) == 8


def test_a_target_over_the_radar_survives_the_rounding_of_its_range_and_height() -> None:
    # near the zenith a target's height above the radar is nearly its range; RHO (1/256 NM) and
    # I048/110 (25 ft) round separately, so the height may come out beyond the range
    run = Run()
    r = np.linspace(300.0, 3_000.0, 60)
    el = 0.5 * math.pi - np.linspace(0.0, 0.05, 60)
    run.send(nm("a", run.now))
    run.send(plots("a", run.now, r.tolist(), el=el.tolist()))
    (got,) = run.send(sc("a", run.now))
    assert run.plots("a", "bad_elevation") == 0
    assert len(got.scan.plots) == r.size
    back = np.array([p.el for p in got.scan.plots])
    # what the two roundings can do to sin(el) = (height above the radar) / range, at most
    assert np.all(np.abs(np.sin(back) - np.sin(el)) <= 2.0 * REACH_TOLERANCE_M / (r - 4.0))


def test_max_range_allows_six_range_sigmas_of_noise() -> None:
    run = Run()
    cfg = REGISTRY.by_id("c")
    assert cfg is not None
    edge = cfg.max_range_km * 1e3 + 6 * cfg.range_sigma_m
    run.send(plots("c", run.now, [edge - 2.0, edge + 5.0]), "c")
    assert run.plots("c", ACCEPTED) == 1 and run.plots("c", "bad_range") == 1


# --- health ----------------------------------------------------------------------------------


def _health(run: Run) -> dict[str, tuple[str, str | None]]:
    return {h.id: (h.state, h.reason) for h in run.ingest.health(run.now)}


def test_health_never_heard_then_ok_then_silent_then_recovered() -> None:
    run = Run()
    assert _health(run) == {"a": ("ok", None), "b": ("ok", None), "c": ("ok", None)}
    run.wait(2.5)  # more than two of a's and c's 1 s periods, not of b's 2 s
    assert _health(run) == {
        "a": ("degraded", "never_heard"),
        "b": ("ok", None),
        "c": ("degraded", "never_heard"),
    }
    for _ in range(3):
        run.send(nm("a", run.now))
        run.send(plots("a", run.now, [1e4, 1e5]))
        run.wait(1.0)
    assert _health(run)["a"] == ("ok", None)
    run.wait(1.0)  # two periods since a's last datagram: not more
    assert _health(run)["a"] == ("ok", None)
    run.wait(0.01)
    assert _health(run)["a"] == ("degraded", "silent")
    (a,) = [h for h in run.ingest.health(run.now) if h.id == "a"]
    assert a.last_data_age_s == pytest.approx(2.01) and a.scans == 2 and a.plots == 6
    assert run.ingest.due(run.now, run.mono)  # the last scan times out
    run.send(nm("a", run.now))
    assert _health(run)["a"] == ("ok", None)


def test_health_sees_a_stopped_clock() -> None:
    run = Run()
    stuck = run.now
    for _ in range(5):
        run.send(nm("a", stuck))
        run.send(plots("a", stuck, [1e4]))
        run.wait(1.0)
        run.ingest.due(run.now, run.mono)  # the open scan ends two periods after it opened
    health = {h.id: h for h in run.ingest.health(run.now)}
    assert (health["a"].state, health["a"].reason) == ("degraded", "clock_stopped")
    assert health["a"].last_data_age_s == pytest.approx(1.0)
    assert health["a"].dropped == {"replayed": 4}
    run.send(nm("a", run.now))
    assert _health(run)["a"] == ("ok", None)


def test_health_of_a_clock_so_far_off_that_nothing_is_accepted() -> None:
    run = Run()
    for _ in range(3):
        run.send(nm("a", run.now - 3_600.0))
        run.wait(1.0)
    assert _health(run)["a"] == ("degraded", "clock_stopped")
    assert run.services("a", "clock_skew") == 3


def test_ingest_refuses_a_bad_skew() -> None:
    with pytest.raises(ValueError, match="max_skew_s"):
        Ingest(REGISTRY, max_skew_s=math.nan)
