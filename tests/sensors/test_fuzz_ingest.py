"""Fuzz the ingest: well over 100,000 malformed datagrams, with good scans sent between them.

Seeds are real datagrams from the encoder (north markers, sector crossings, plots using every
item: I048/110, /120, SP range, elevation and speed, SIM, several datablocks). The bad ones are
random bytes (some shaped like a datablock), mutated seeds (bytes, bits, the LEN, the category,
the FSPEC, extreme values in RHO, time of day, height and SP), truncations, trailing junk,
oversized and empty datagrams, replays, unregistered SAC/SIC and unlisted source addresses.

Checked: no exception escapes; every datagram is counted exactly once (their sum is the number
sent) and under the decoder's own reason when it does not decode; every decoded plot and
service message is counted once; the plots accepted are exactly those of the scans handed over;
and every good scan comes out once, whole, at its time. The bad datagrams come from the fuzz
sensors' address (the good sensor's SAC/SIC from there is a bad source) or, from the good
sensor's address, only in forms that cannot decode, so nothing they do can shift the good
sensor's scan clock.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from redcolor.sensors import asterix as ax
from redcolor.sensors.ingest import ACCEPTED, DATAGRAM_REASONS, ITEM_REASONS, Ingest, Received
from redcolor.sensors.registry import UNREGISTERED, Registry, SensorConfig

N_BAD = 120_000
GOOD_EVERY = 400
"""A good scan after every this many bad datagrams (300 good scans)."""

START = 1_796_169_600.0 - 150.0  # 2026-12-02, 150 s before midnight: the run crosses it
GOOD_SRC, FUZZ_SRC = "10.0.0.1", "10.0.0.2"


def _cfg(sensor_id: str, sac: int, sic: int, sources: list[str], **kw: object) -> SensorConfig:
    base: dict[str, object] = dict(
        id=sensor_id, lat=31.5, lon=34.6, alt_m=80.0, scan_period_s=1.0, range_sigma_m=25.0,
        angle_sigma_mrad=1.2, detection_probability=0.9, false_alarms_per_scan=1.0,
        max_range_km=2_000.0, range_rate_sigma_m_s=1.0, sac=sac, sic=sic, sources=sources,
    )  # fmt: skip
    base.update(kw)
    return SensorConfig(**base)  # type: ignore[arg-type]


REGISTRY = Registry(
    (
        _cfg("good", 200, 201, [GOOD_SRC]),
        _cfg("fuzz-sim", 1, 1, [FUZZ_SRC], simulated=True),
        _cfg("fuzz-off", 1, 2, [FUZZ_SRC], clock_offset_s=-5.0, scan_period_s=0.5),
    )
)


def _plots(rng: np.random.Generator, sac: int, sic: int, t_unix_s: float, n: int,
           *, simulated: bool) -> list[bytes]:  # fmt: skip
    """A scan's plots, using every item: /110 and SP elevation, /120 and SP speed, SP range."""
    r = rng.uniform(1_000.0, 1_900_000.0, n)
    az = rng.uniform(0.0, 2.0 * np.pi, n)
    el = rng.uniform(-0.01, 1.2, n)
    rr = rng.uniform(-3_000.0, 3_000.0, n)
    rr[rng.random(n) < 0.3] = np.nan
    return ax.encode_plots(sac, sic, ax.tod_of_unix_s(t_unix_s), r, az, el, rr,
                           radar_alt_m=80.0, simulated=simulated)  # fmt: skip


def _seeds(rng: np.random.Generator, t_unix_s: float) -> list[bytes]:
    """Real datagrams of the fuzz sensors (and some of nobody's) around ``t_unix_s``."""
    out: list[bytes] = []
    for sac, sic, sim in ((1, 1, True), (1, 2, False), (1, 1, False), (9, 9, False)):
        tod = ax.tod_of_unix_s(t_unix_s)
        out.append(ax.encode_service(sac, sic, "north_marker", tod, sector_rad=0.0,
                                     rotation_period_s=1.0))  # fmt: skip
        out.append(ax.encode_service(sac, sic, "sector_crossing", tod, sector_rad=3.0))
        out += _plots(rng, sac, sic, t_unix_s, int(rng.integers(1, 60)), simulated=sim)
    out.append(out[0] + out[2])  # two datablocks in one datagram
    return out


def _mutate(rng: np.random.Generator, seed: bytes) -> bytes:
    d = bytearray(seed)
    kind = int(rng.integers(0, 10))
    n = len(d)
    if kind == 0:  # a few random bytes
        for i in rng.integers(0, n, int(rng.integers(1, 5))).tolist():
            d[i] = int(rng.integers(0, 256))
    elif kind == 1:  # one bit
        i = int(rng.integers(0, n))
        d[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 2:  # truncated
        d = d[: int(rng.integers(0, n))]
    elif kind == 3:  # trailing junk
        d += rng.bytes(int(rng.integers(1, 20)))
    elif kind == 4:  # the LEN
        d[1:3] = int(rng.integers(0, 65_536)).to_bytes(2, "big")
    elif kind == 5:  # the category
        d[0] = int(rng.choice([c for c in range(256) if c not in (34, 48)]))
    elif kind == 6:  # the FSPEC: every FRN, extension bits
        d[3] = int(rng.integers(0, 256))
        if n > 4:
            d[4] = 0xFF
    elif kind == 7:  # extreme values where the standard items sit (RHO, THETA, tod, height)
        for i in range(4, min(n, 16)):
            if rng.random() < 0.5:
                d[i] = int(rng.choice([0x00, 0x7F, 0x80, 0xFF]))
    elif kind == 8:  # an SP field with extreme values: range, elevation, speed at their limits
        sp = bytes((15, ax.SP_TAG, 0xE0)) + b"\xff\xff\xff\xff" + b"\x7f\xff\xff\xff" * 2
        d = d[: int(rng.integers(3, max(4, n)))] + sp
        size = len(d)
        d[1:3] = size.to_bytes(2, "big")
    else:  # a slice of it, relabelled as a whole datablock
        a = int(rng.integers(0, n))
        d = bytearray((seed[0],)) + bytearray((0, 0)) + d[a:]
        d[1:3] = len(d).to_bytes(2, "big")
    return bytes(d)


def _bad(rng: np.random.Generator, seeds: list[bytes], good_seed: bytes) -> tuple[bytes, str]:
    """One malformed datagram and the address it comes from."""
    kind = rng.random()
    if kind < 0.15:  # random bytes
        return rng.bytes(int(rng.integers(0, 1_500))), FUZZ_SRC
    if kind < 0.30:  # random bytes shaped like a datablock
        body = rng.bytes(int(rng.integers(0, 300)))
        cat = int(rng.choice([34, 48]))
        return bytes((cat,)) + (len(body) + 3).to_bytes(2, "big") + body, FUZZ_SRC
    if kind < 0.31:  # too large, empty
        return (b"\x30" * 70_000 if rng.random() < 0.5 else b""), FUZZ_SRC
    if kind < 0.36:  # the good sensor's own datagram, cut or relabelled: cannot decode
        cut = good_seed[: int(rng.integers(0, len(good_seed)))]
        return (cut if rng.random() < 0.5 else b"\x3e" + good_seed[1:]), GOOD_SRC
    if kind < 0.40:  # the good sensor's SAC/SIC from the fuzz address, a replay from anywhere
        return good_seed, FUZZ_SRC if rng.random() < 0.5 else "192.0.2.7"
    seed = seeds[int(rng.integers(0, len(seeds)))]
    return (_mutate(rng, seed) if rng.random() < 0.9 else seed), FUZZ_SRC


def _decoded_items(data: bytes) -> tuple[str | None, int, int]:
    """(decode reason or None, plots, service messages) of one datagram."""
    try:
        d = ax.decode(data)
    except ax.AsterixError as exc:
        return exc.reason, 0, 0
    return None, len(d.plots), len(d.services)


def test_fuzz_counts_everything_and_loses_no_good_scan() -> None:
    rng = np.random.default_rng(20261202)
    ingest = Ingest(REGISTRY)
    now, mono = START, 5_000.0
    sent = 0
    decode_reasons: Counter[str] = Counter()
    n_plots = n_services = 0
    out: list[Received] = []
    good_sent: list[tuple[float, int]] = []
    seeds = _seeds(rng, now)
    good_seed = ax.encode_service(200, 201, "north_marker", ax.tod_of_unix_s(now))

    def send(data: bytes, source: str) -> None:
        nonlocal sent, n_plots, n_services
        reason, p, s = _decoded_items(data)
        if reason is not None:
            decode_reasons[reason] += 1
        n_plots += p
        n_services += s
        sent += 1
        out.extend(ingest.datagram(data, source, now, mono))

    for i in range(N_BAD):
        send(*_bad(rng, seeds, good_seed))
        if i % 50 == 0:
            out.extend(ingest.due(now, mono))
        if i % GOOD_EVERY == GOOD_EVERY - 1:
            now += 1.0
            mono += 1.0
            t = now
            tod = ax.tod_of_unix_s(t)
            body = _plots(rng, 200, 201, t, int(rng.integers(0, 80)), simulated=False)
            n_good = sum(len(ax.decode(b).plots) for b in body)
            send(ax.encode_service(200, 201, "north_marker", tod), GOOD_SRC)
            for b in body:
                send(b, GOOD_SRC)
            send(ax.encode_service(200, 201, "sector_crossing", tod), GOOD_SRC)
            good_sent.append((t, n_good))
            seeds = _seeds(rng, now)
            good_seed = ax.encode_service(200, 201, "north_marker", tod)
    now += 10.0
    mono += 10.0
    out.extend(ingest.due(now, mono))

    counts = ingest.counts
    # every datagram once, under the decoder's reason when it does not decode
    assert sum(counts.datagrams.values()) == sent >= N_BAD
    by_reason: Counter[str] = Counter()
    for (sensor, result), n in counts.datagrams.items():
        assert sensor in {"good", "fuzz-sim", "fuzz-off", UNREGISTERED}
        assert result == ACCEPTED or result in ax.DECODE_REASONS or result in DATAGRAM_REASONS
        by_reason[result] += n
    assert {r: by_reason[r] for r in ax.DECODE_REASONS if by_reason[r]} == dict(decode_reasons)
    assert sum(decode_reasons.values()) > N_BAD // 2  # most are refused by the decoder
    # every decoded plot and service message once
    assert sum(counts.plots.values()) == n_plots
    assert sum(counts.services.values()) == n_services
    for (_, result), _n in (*counts.plots.items(), *counts.services.items()):
        assert result in (ACCEPTED, *ITEM_REASONS, *DATAGRAM_REASONS)
    accepted = sum(n for (_, result), n in counts.plots.items() if result == ACCEPTED)
    assert accepted == sum(len(r.scan.plots) for r in out)
    assert sum(counts.scans.values()) == len(out)
    # the good scans, all of them, whole, once, in order
    good = [(r.scan.t, len(r.scan.plots)) for r in out if r.scan.sensor == "good"]
    assert len(good_sent) == N_BAD // GOOD_EVERY
    assert [(round(t * 128), n) for t, n in good] == [(round(t * 128), n) for t, n in good_sent]
    assert counts.datagrams[("good", "bad_source")] > 0
    assert counts.plots.get(("good", ACCEPTED), 0) == sum(n for _, n in good_sent)
    # the fuzz sensors saw scans and drops of many kinds, the bad values among them
    dropped = {r for (s, r) in counts.plots if s.startswith("fuzz") and r != ACCEPTED}
    assert {"simulated", "bad_range", "bad_elevation", "bad_range_rate", "replayed"} <= dropped
