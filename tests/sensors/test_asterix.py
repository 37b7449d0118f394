"""redcolor.sensors.asterix against libasterix, the reference codec.

* The encoder: byte for byte what libasterix builds from the same values (in each item's own
  unit), on seeded random plots and on the plots of a simulated scan.
* The decoder: on records libasterix builds with every item of both UAPs (random contents), it
  reads the items it uses as libasterix does and skips the others.
* Round trips within the LSB of each field, the geometry, the midnight helper, and every reason
  the decoder refuses a datagram for.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import asterix.generated as gen
import numpy as np
import pytest
from asterix import base

from redcolor.errors import InputError
from redcolor.physics.ballistics import EARTH_MEAN_RADIUS_M
from redcolor.sensors import asterix as ax
from redcolor.sensors.cat048 import read_as_columns
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

C48 = gen.Cat_048_1_32
C34 = gen.Cat_034_1_29
DEG = "°"


# --- the reference: libasterix built from the documented layout -------------------------------


def _sp_payload(mask: int, r: float, el: float, rr: float) -> bytes:
    """redcolor's SP (module docstring), written independently with struct."""
    out = struct.pack(">BB", 0xC1, mask)
    if mask & 0x80:
        out += struct.pack(">I", round(r / 0.01))
    if mask & 0x40:
        out += struct.pack(">i", round(el / 1e-7))
    if mask & 0x20:
        out += struct.pack(">i", round(rr / 0.01))
    return out


def _ref_record(sac: int, sic: int, tod_s: float, r: float, az: float, el: float, rr: float,
                alt_m: float, sim: bool) -> bytes:  # fmt: skip
    """One CAT048 record as libasterix encodes it from the values in their items' units."""
    rho_nm = r / 1852.0
    rho: Any = (rho_nm, "NM") if round(rho_nm * 256) <= 0xFFFF else 0xFFFF
    items: dict[str, Any] = {
        "010": (("SAC", sac), ("SIC", sic)),
        "140": (tod_s, "s"),
        "020": ((1 << 4) | (int(sim) << 3),),  # TYP=1, SIM
        "040": (("RHO", rho), ("THETA", (math.degrees(az), DEG))),
    }
    mask = 0 if isinstance(rho, tuple) else 0x80
    h_ft = float(ax.height_from_elevation_m(r, el, alt_m)) / 0.3048
    if abs(round(h_ft / 25.0)) <= 8191:
        items["110"] = (0, (h_ft, "ft"))
    else:
        mask |= 0x40
    if not math.isnan(rr):
        if abs(round(rr)) <= 511:
            items["120"] = {"CAL": (0, 0, (rr, "m/s"))}
        else:
            mask |= 0x20
    if mask:
        items["SP"] = _sp_payload(mask, r, el, rr)
    return C48.cv_record.create(items).unparse().to_bytes()


def _ref_datagrams(records: list[bytes], max_bytes: int) -> list[bytes]:
    """libasterix datablocks of as many whole records as fit in ``max_bytes``, in order."""
    chunks: list[list[bytes]] = [[]]
    for rec in records:
        if chunks[-1] and 3 + sum(map(len, chunks[-1])) + len(rec) > max_bytes:
            chunks.append([])
        chunks[-1].append(rec)
    out = []
    for chunk in chunks:
        recs = [C48.cv_uap.parse(base.Bits.from_bytes(r))[0] for r in chunk]
        out.append(C48.create(recs).unparse().to_bytes())
    return out


def _random_plots(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    r = np.exp(rng.uniform(np.log(50.0), np.log(2.5e6), n))
    rr = rng.normal(0.0, 800.0, n)
    rr[rng.random(n) < 0.2] = np.nan
    return {
        "range_m": r,
        "azimuth_rad": rng.uniform(0.0, 2.0 * np.pi, n),
        "elevation_rad": rng.uniform(-0.05, 1.5, n),
        "range_rate_m_s": rr,
    }


# --- encoder: byte for byte ------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_encoder_matches_libasterix_on_random_plots(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 150
    cols = _random_plots(rng, n)
    sac, sic = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    tod = float(rng.uniform(0.0, 86_399.0))
    alt = float(rng.uniform(-100.0, 2_000.0))
    sim = bool(seed % 2)
    max_bytes = int(rng.integers(200, 1500))
    ours = ax.encode_plots(sac, sic, tod, **cols, radar_alt_m=alt, simulated=sim,
                           max_datagram_bytes=max_bytes)  # fmt: skip
    ref = [
        _ref_record(sac, sic, tod, *(float(cols[k][i]) for k in cols), alt, sim) for i in range(n)
    ]
    assert ours == _ref_datagrams(ref, max_bytes)
    assert all(len(d) <= max_bytes for d in ours)
    # all three SP fields, RHO and /110 and /120 occur in these plots
    dec = ax.decode(b"".join(ours))
    assert np.isfinite(dec.plots.height_m).any() and np.isfinite(dec.plots.elevation_rad).any()
    assert (dec.plots.range_m > 474_000.0).any() and (dec.plots.range_m < 474_000.0).any()


@pytest.fixture(scope="module")
def meron_scans() -> tuple[dict[str, float], list]:
    sim = simulate(load_scenario("meron-2024-01-06"))
    alt = {r.registration.id: r.registration.alt_m for r in sim.radars}
    scans = [s for s in sim.scans if s.plots]
    return alt, scans[::12]


def test_encoder_matches_libasterix_on_a_simulated_scan(meron_scans) -> None:
    alt, scans = meron_scans
    for k, scan in enumerate(scans):
        tod = ax.tod_of_unix_s(scan.t)
        r = np.array([p.r for p in scan.plots])
        az = np.array([p.az for p in scan.plots])
        el = np.array([p.el for p in scan.plots])
        rr = np.array([math.nan if p.rr is None else p.rr for p in scan.plots])
        has_rr = not np.isnan(rr).all()
        ours = ax.encode_plots(7, k, tod, r, az, el, rr if has_rr else None,
                               radar_alt_m=alt[scan.sensor], simulated=True)  # fmt: skip
        ref = [_ref_record(7, k, tod, r[i], az[i], el[i], rr[i], alt[scan.sensor], True)
               for i in range(len(r))]  # fmt: skip
        assert ours == _ref_datagrams(ref, ax.MAX_DATAGRAM_BYTES)
        dec = ax.decode(b"".join(ours)).plots
        assert len(dec) == len(r) and dec.simulated.all() and (dec.sic == k).all()
        sp = np.isnan(dec.height_m)  # clutter beyond I048/110 (62 km up) has an SP elevation
        assert (np.isnan(dec.elevation_rad) != sp).all()
        assert np.abs(dec.elevation_rad[sp] - el[sp]).max(initial=0.0) <= 0.5e-7
        el_back = ax.elevation_from_height_rad(dec.range_m, dec.height_m, alt[scan.sensor])
        # half an LSB of height (3.81 m) and of range (3.62 m), seen from the radar
        lsb = (3.81 + 3.62 * np.abs(np.sin(el))) / (r * np.cos(el)) * 1.01 + 1e-9
        assert (np.abs(el_back - el)[~sp] <= lsb[~sp]).all()


def test_service_messages_match_libasterix() -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        kind = "north_marker" if rng.random() < 0.5 else "sector_crossing"
        tod = float(rng.uniform(0.0, 86_399.99))
        sector = float(rng.uniform(0.0, 2 * np.pi)) if rng.random() < 0.7 else None
        period = float(rng.uniform(0.5, 500.0)) if rng.random() < 0.5 else None
        sac, sic = (int(x) for x in rng.integers(0, 256, 2))
        ours = ax.encode_service(sac, sic, kind, tod, sector_rad=sector,
                                 rotation_period_s=period)  # fmt: skip
        items: dict[str, Any] = {
            "010": (("SAC", sac), ("SIC", sic)),
            "000": 1 if kind == "north_marker" else 2,
            "030": (tod, "s"),
        }
        if sector is not None:
            items["020"] = (math.degrees(sector), DEG)
        if period is not None:
            items["041"] = (period, "s")
        ref = C34.create([C34.cv_record.create(items)]).unparse().to_bytes()
        assert ours == ref
        (msg,) = ax.decode(ours).services
        assert (msg.sac, msg.sic, msg.kind) == (sac, sic, kind)
        assert abs(msg.tod_s - tod) <= 1 / 256
        if sector is None:
            assert msg.sector_rad is None
        else:
            err = (msg.sector_rad - sector + np.pi) % (2 * np.pi) - np.pi
            assert abs(err) <= np.pi / 256 + 1e-12
        if period is None:
            assert msg.rotation_period_s is None
        else:
            assert abs(msg.rotation_period_s - period) <= 1 / 256


# --- decoder: libasterix-built records with every item of the UAPs ----------------------------


def _rand_variation(var: type, rng: np.random.Generator) -> Any:
    """A random libasterix argument for any variation (the items the decoder skips)."""
    if issubclass(var, base.Element | base.Group):
        return int(rng.integers(0, 2**var.cv_bit_size, dtype=np.uint64))
    if issubclass(var, base.Extended):
        groups = var.cv_items_list[: int(rng.integers(1, len(var.cv_items_list) + 1))]
        return tuple(
            int(rng.integers(0, 2 ** sum(i[1] for i in g if i is not None))) for g in groups
        )
    if issubclass(var, base.Repetitive):
        lo = 0 if var.cv_rep_bytes else 1
        return [_rand_variation(var.cv_variation, rng) for _ in range(rng.integers(lo, 4))]
    if issubclass(var, base.Explicit):
        return rng.integers(0, 256, int(rng.integers(0, 6)), dtype=np.uint8).tobytes()
    assert issubclass(var, base.Compound), var
    subs = [n for n in var.cv_items_list if n is not None and rng.random() < 0.5]
    return {n.cv_name: _rand_rule(n.cv_rule, rng) for n in subs}


def _rand_rule(rule: type, rng: np.random.Generator) -> Any:
    if issubclass(rule, base.RuleVariationContextFree):
        return _rand_variation(rule.cv_variation, rng)
    return _rand_variation(rule.cv_default_variation, rng)


def _rand_items(cat: type, rng: np.random.Generator) -> dict[str, Any]:
    specs = cat.cv_record.cv_items_dict
    return {name: _rand_rule(spec.cv_rule, rng) for name, spec in specs.items()
            if rng.random() < 0.6}  # fmt: skip


def _rand_record_048(rng: np.random.Generator) -> bytes:
    items = _rand_items(C48, rng)
    items["010"] = int(rng.integers(0, 2**16))
    if "140" in items:
        items["140"] = int(rng.integers(0, 86_400 * 128))
    if "SP" in items and rng.random() < 0.6:  # redcolor's SP, else another producer's
        mask = int(rng.choice([0x80, 0x40, 0x20, 0xE0, 0xA0, 0x60, 0x00]))
        items["SP"] = _sp_payload(mask, rng.uniform(0, 4e7), rng.uniform(-1.5, 1.5),
                                  rng.uniform(-2e7, 2e7))  # fmt: skip
    elif "SP" in items and items["SP"][:1] == b"\xc1":
        items["SP"] = b"\x00" + items["SP"][1:]
    return C48.cv_record.create(items).unparse().to_bytes()


def _rand_record_034(rng: np.random.Generator) -> bytes:
    items = _rand_items(C34, rng)
    items["010"] = int(rng.integers(0, 2**16))
    items["000"] = int(rng.integers(0, 256)) if rng.random() < 0.3 else int(rng.integers(1, 3))
    if "030" in items:
        items["030"] = int(rng.integers(0, 86_400 * 128))
    return C34.cv_record.create(items).unparse().to_bytes()


def _block(cat: int, records: list[bytes]) -> bytes:
    body = b"".join(records)
    return bytes((cat, (len(body) + 3) >> 8, (len(body) + 3) & 0xFF)) + body


def _expected_plot(rec: Any) -> tuple:
    """What the decoder must read from one record, read by libasterix."""
    nan = math.nan
    i010 = rec.get_item("010").variation
    i140, i020, i040 = rec.get_item("140"), rec.get_item("020"), rec.get_item("040")
    i110, i120, isp = rec.get_item("110"), rec.get_item("120"), rec.get_item("SP")
    r = az = h = el = rr = nan
    if i040 is not None:
        r = i040.variation.get_item("RHO").variation.content.as_quantity("NM") * 1852.0
        az = math.radians(i040.variation.get_item("THETA").variation.content.as_quantity(DEG))
    if i110 is not None:
        h = i110.variation.get_item("3DH").variation.content.as_quantity("ft") * 0.3048
    cal = None if i120 is None else i120.variation.get_item("CAL")
    if cal is not None and cal.variation.get_item("D").as_uint() == 0:
        rr = cal.variation.get_item("CAL").variation.content.as_quantity("m/s")
    sp = b"" if isp is None else isp.variation.get_bytes()
    if sp[:1] == b"\xc1":
        mask, off = sp[1], 2
        for bit, fmt, lsb in ((0x80, ">I", 0.01), (0x40, ">i", 1e-7), (0x20, ">i", 0.01)):
            if mask & bit:
                v = struct.unpack(fmt, sp[off : off + 4])[0] * lsb
                off += 4
                if bit == 0x80:
                    r = v
                elif bit == 0x40:
                    el = v
                else:
                    rr = v
    return (
        i010.get_item("SAC").as_uint(), i010.get_item("SIC").as_uint(),
        nan if i140 is None else i140.variation.content.as_quantity("s"),
        r, az, h, el, rr,
        i020 is not None and i020.variation.get_item("SIM").as_uint() == 1,
    )  # fmt: skip


def test_decoder_reads_libasterix_records_and_skips_every_other_item() -> None:
    rng = np.random.default_rng(11)
    seen: set[str] = set()
    for _ in range(25):
        blocks = []
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.7:
                recs = [_rand_record_048(rng) for _ in range(rng.integers(1, 9))]
                blocks.append(_block(48, recs))
            else:
                recs = [_rand_record_034(rng) for _ in range(rng.integers(1, 4))]
                blocks.append(_block(34, recs))
        datagram = b"".join(blocks)
        ours = ax.decode(datagram)
        plots, services = [], []
        for db in base.RawDatablock.parse(base.Bits.from_bytes(datagram)):
            cat = C48 if db.get_category() == 48 else C34
            recs = cat.cv_uap.parse(db.get_raw_records())
            assert not isinstance(recs, ValueError)
            for rec in recs:
                seen |= set(rec.items_regular)
                (plots if cat is C48 else services).append(rec)
        got = ours.plots
        assert len(got) == len(plots) and len(ours.services) == len(services)
        for i, rec in enumerate(plots):
            row = (int(got.sac[i]), int(got.sic[i]), got.tod_s[i], got.range_m[i],
                   got.azimuth_rad[i], got.height_m[i], got.elevation_rad[i],
                   got.range_rate_m_s[i], bool(got.simulated[i]))  # fmt: skip
            np.testing.assert_allclose(row, _expected_plot(rec), rtol=1e-12, atol=1e-12)
        for msg, rec in zip(ours.services, services, strict=True):
            i010, i000 = rec.get_item("010").variation, rec.get_item("000").as_uint()
            i030, i020, i041 = rec.get_item("030"), rec.get_item("020"), rec.get_item("041")
            assert (msg.sac, msg.sic) == (i010.get_item("SAC").as_uint(),
                                          i010.get_item("SIC").as_uint())  # fmt: skip
            assert msg.kind == {1: "north_marker", 2: "sector_crossing"}.get(i000, "other")
            tod = math.nan if i030 is None else i030.variation.content.as_quantity("s")
            np.testing.assert_equal(msg.tod_s, tod)
            sector = None if i020 is None else i020.variation.content.as_quantity(DEG)
            want = sector if sector is None else pytest.approx(math.radians(sector))
            assert msg.sector_rad == want
            period = None if i041 is None else i041.variation.content.as_quantity("s")
            assert msg.rotation_period_s == period
    # every item of both UAPs was in some record (so each was skipped or read)
    assert seen >= set(C48.cv_record.cv_items_dict) | set(C34.cv_record.cv_items_dict)


# --- round trips -----------------------------------------------------------------------------


def test_round_trip_within_half_an_lsb() -> None:
    rng = np.random.default_rng(21)
    cols = _random_plots(rng, 3000)
    alt = 350.0
    grams = ax.encode_plots(3, 4, 43_210.123, **cols, radar_alt_m=alt, simulated=False)
    got = ax.decode(b"".join(grams)).plots
    r, az, el, rr = (cols[k] for k in ("range_m", "azimuth_rad", "elevation_rad",
                                       "range_rate_m_s"))  # fmt: skip
    assert len(got) == 3000 and not got.simulated.any()
    assert (got.sac == 3).all() and (got.sic == 4).all()
    assert np.abs(got.tod_s - 43_210.123).max() <= 1 / 256
    sp_r = r > 65_535.5 / 256 * 1852
    assert np.abs(got.range_m - r)[~sp_r].max() <= 1852 / 512 + 1e-9
    assert np.abs(got.range_m - r)[sp_r].max() <= 0.005 + 1e-9
    daz = (got.azimuth_rad - az + np.pi) % (2 * np.pi) - np.pi
    assert np.abs(daz).max() <= np.pi / 65_536 + 1e-12
    assert ((got.azimuth_rad >= 0) & (got.azimuth_rad < 2 * np.pi)).all()
    h = ax.height_from_elevation_m(r, el, alt)
    std = np.abs(h) <= 8191.5 * 25 * 0.3048
    assert (np.isnan(got.height_m) == ~std).all() and (np.isnan(got.elevation_rad) == std).all()
    assert np.abs(got.height_m - h)[std].max() <= 12.5 * 0.3048 + 1e-9
    assert np.abs(got.elevation_rad - el)[~std].max() <= 0.5e-7 + 1e-12
    np.testing.assert_array_equal(np.isnan(got.range_rate_m_s), np.isnan(rr))
    drr = np.abs(got.range_rate_m_s - rr)
    cal = np.abs(rr) <= 511.5
    assert drr[cal].max() <= 0.5 and drr[~cal & ~np.isnan(rr)].max() <= 0.005 + 1e-9
    assert std.any() and (~std).any() and sp_r.any() and (~cal & ~np.isnan(rr)).any()


def test_packing_keeps_order_and_fills_each_datagram() -> None:
    n = 500
    r = np.linspace(1_000.0, 100_000.0, n)
    grams = ax.encode_plots(1, 1, 10.0, r, np.zeros(n), np.full(n, 0.1), np.zeros(n),
                            radar_alt_m=0.0, simulated=True, max_datagram_bytes=300)  # fmt: skip
    assert all(len(g) <= 300 for g in grams)
    assert all(len(g) + 18 > 300 for g in grams[:-1])  # 18-byte records: no room for another
    got = np.concatenate([ax.decode(g).plots.range_m for g in grams])
    assert np.abs(got - r).max() <= 1852 / 512
    assert ax.encode_plots(1, 1, 10.0, [], [], [], None, radar_alt_m=0.0, simulated=True) == []


def _uniform(rng: np.random.Generator, n: int, *, beyond: bool) -> dict[str, np.ndarray]:
    """Plots all in one layout: standard items only, or every SP field."""
    if beyond:
        return {
            "range_m": rng.uniform(5e5, 2e6, n),
            "azimuth_rad": rng.uniform(0, 6.28, n),
            "elevation_rad": rng.uniform(0.3, 1.5, n),
            "range_rate_m_s": rng.uniform(600, 3000, n) * rng.choice([-1, 1], n),
        }
    return {
        "range_m": rng.uniform(10, 1e5, n),
        "azimuth_rad": rng.uniform(0, 6.28, n),
        "elevation_rad": rng.uniform(0, 0.3, n),
        "range_rate_m_s": rng.uniform(-511, 511, n),
    }


@pytest.mark.parametrize("layout", ["standard", "sp", "mixed"])
def test_decoder_of_a_block_equals_one_record_at_a_time(layout: str) -> None:
    """A block read as columns (records of one layout, or of several) decodes as the same
    records sent one per datablock (read record by record)."""
    rng = np.random.default_rng(8)
    n = 400
    cols = _random_plots(rng, n) if layout == "mixed" else _uniform(rng, n, beyond=layout == "sp")
    (gram,) = ax.encode_plots(9, 9, 5.0, **cols, radar_alt_m=10.0, simulated=False,
                              max_datagram_bytes=ax.UDP_MAX_PAYLOAD_BYTES)  # fmt: skip
    assert read_as_columns(gram, 3, len(gram)) is not None  # read as columns
    whole = ax.decode(gram).plots
    singles = [ax.encode_plots(9, 9, 5.0, *(cols[k][i : i + 1] for k in cols),
                               radar_alt_m=10.0, simulated=False)[0] for i in range(n)]  # fmt: skip
    one_by_one = [ax.decode(g).plots for g in singles]
    for field in ax.PlotColumns.__slots__:
        got = getattr(whole, field)
        np.testing.assert_array_equal(got, np.concatenate([getattr(p, field) for p in one_by_one]))
        assert got.dtype == getattr(one_by_one[0], field).dtype and got.flags.owndata


def test_a_block_with_another_producers_sp_among_ours_is_read_one_by_one() -> None:
    ours = b"\x81\x01\x01\x04\x01\x02\x07\xc1\x80\x00\x00\x27\x10"  # SP range 100 m
    other = ours[:7] + b"\x55" + ours[8:]
    for records in ([other] + [ours] * 9, [ours] * 9 + [other]):
        got = ax.decode(_block(48, records)).plots.range_m
        want = [ax.decode(_block(48, [r])).plots.range_m[0] for r in records]
        np.testing.assert_array_equal(got, want)
        assert set(got[~np.isnan(got)]) == {100.0}


# --- geometry and time of day ----------------------------------------------------------------


def test_height_and_elevation_are_inverses_and_match_vector_geometry() -> None:
    rng = np.random.default_rng(4)
    r = np.exp(rng.uniform(0.0, np.log(3e6), 5000))
    el = rng.uniform(-0.2, 1.57, 5000)
    alt = rng.uniform(-400.0, 3000.0, 5000)
    h = ax.height_from_elevation_m(r, el, alt)
    # independent: the target as a vector from the Earth's centre
    ra = EARTH_MEAN_RADIUS_M + alt
    pos = np.stack([r * np.cos(el), ra + r * np.sin(el)])
    np.testing.assert_allclose(h, np.hypot(*pos) - EARTH_MEAN_RADIUS_M, rtol=0, atol=1e-6)
    ok = h > -EARTH_MEAN_RADIUS_M / 2  # a line of sight through the Earth has no unique height
    np.testing.assert_allclose(ax.elevation_from_height_rad(r, h, alt)[ok], el[ok], atol=1e-9)
    # broadcasting, scalars and the out-of-reach case
    assert ax.height_from_elevation_m(np.ones((2, 3)), 0.0, 0.0).shape == (2, 3)
    assert float(ax.height_from_elevation_m(0.0, 1.0, 12.5)) == 12.5
    assert np.isnan(ax.elevation_from_height_rad(1_000.0, 5_000.0, 0.0))
    assert np.isnan(ax.elevation_from_height_rad(0.0, 5.0, 0.0))
    # just beyond the reach (a +- r): straight up or down within the tolerance, else NaN
    beyond = ax.elevation_from_height_rad(1_000.0, [1_053.0, -953.0, 1_050.0], 50.0, 3.5)
    np.testing.assert_array_equal(beyond, [0.5 * np.pi, -0.5 * np.pi, 0.5 * np.pi])
    assert np.isnan(ax.elevation_from_height_rad(1_000.0, [1_053.0, -953.0], 50.0, 2.5)).all()
    # at the horizon a target 100 km away is r^2 / 2R up, to first order
    assert float(ax.height_from_elevation_m(1e5, 0.0, 0.0)) == pytest.approx(
        1e10 / (2 * EARTH_MEAN_RADIUS_M), rel=1e-4)  # fmt: skip


@pytest.mark.parametrize(
    ("t_unix_s", "tod_s"),
    [(0.0, 0.0), (86_400.0, 0.0), (1_704_499_200.0 + 3_723.5, 3_723.5), (86_399.75, 86_399.75),
     (-1.0, 86_399.0), (-1e-20, 0.0), (1_704_585_599.999, 86_399.999)],
)  # fmt: skip
def test_time_of_day(t_unix_s: float, tod_s: float) -> None:
    got = ax.tod_of_unix_s(t_unix_s)
    assert 0.0 <= got < 86_400.0 and got == pytest.approx(tod_s, abs=1e-6)


@pytest.mark.parametrize("t_unix_s", [math.nan, math.inf, -math.inf])
def test_time_of_day_of_a_non_finite_time_is_refused(t_unix_s: float) -> None:
    with pytest.raises(InputError):
        ax.tod_of_unix_s(t_unix_s)


def test_a_time_of_day_rounding_up_to_24_h_is_midnight() -> None:
    (gram,) = ax.encode_plots(1, 1, 86_399.999, [1e4], [0.0], [0.1], None, radar_alt_m=0.0,
                              simulated=False)  # fmt: skip
    assert ax.decode(gram).plots.tod_s[0] == 0.0
    assert ax.decode(ax.encode_service(1, 1, "north_marker", 86_399.999)).services[0].tod_s == 0.0


# --- refusals --------------------------------------------------------------------------------


def _good() -> bytes:
    (gram,) = ax.encode_plots(1, 2, 100.0, [1e4, 2e4], [0.1, 0.2], [0.1, 0.2], [5.0, 6.0],
                              radar_alt_m=0.0, simulated=False)  # fmt: skip
    return gram


def _rec048(fspec: bytes, body: bytes) -> bytes:
    return _block(48, [fspec + body])


REFUSED = {
    "empty": [b""],
    "too_large": [_block(48, []) + b"\x30\xff\xff" * 21_842],
    "wrong_category": [b"\x3e\x00\x03", _good() + b"\x01\x00\x03"],
    "bad_length": [b"\x30\x00\x02", b"\x30\x00\x00" + b"\x00" * 5, _good()[:-1],
                   _good() + b"\x22\x00\x20\x80"],
    "truncated": [_good() + b"\x30\x00", b"\x30\x00\x04\xf1",  # FSPEC, then a record cut
                  _rec048(b"\xf0", b"\x01\x02\x00\x00"), _rec048(b"\x20", b"\x21"),  # /020
                  _rec048(b"\x80", b"\x01"), _rec048(b"\x82", b"\x01\x02\x80"),  # /130
                  _rec048(b"\x01\x04", b"\x03\x01"),  # /250, 3 x 8 bytes promised
                  _rec048(b"\x01\x01\x01\x04", b"\x09\xc1")],  # SP
    "bad_fspec": [_rec048(b"\x01\x01\x01\x01\x00", b""),
                  _block(34, [b"\x01\x01\x00"])],
    "unknown_item": [_block(34, [b"\xc4", b"\x01\x02\x01\x20\x00"]),  # I034/050 subfield 3
                     _rec048(b"\x81\x01\x04", b"\x01\x02\x20\x00\x00")],  # I048/120 subfield 3
    "bad_item": [_rec048(b"\xa0", b"\x01\x02" + b"\x01" * 6 + b"\x00"),  # /020: 7 octets
                 _rec048(b"\x82", b"\x01\x02\x01\x00"),  # /130 primary extended
                 _rec048(b"\x81\x01\x01\x04", b"\x01\x02\x00")],  # SP LEN 0
    "missing_item": [_rec048(b"\x00", b""), _rec048(b"\x10", b"\x00\x00\x00\x00"),
                     _block(48, [b"\x10\x00\x00\x00\x00"] * 9),
                     _block(34, [b"\x80\x01\x02"]), _block(34, [b"\x40\x01"])],
    "bad_value": [_rec048(b"\xc0", b"\x01\x02\xa8\xc0\x00"),  # 24:00:00
                  _block(48, [b"\xc0\x01\x02\x00\x00\x00"] * 8 + [b"\xc0\x01\x02\xa8\xc0\x00"]),
                  _block(48, [b"\x81\x01\x01\x04\x01\x02\x04\xc1\x80\x00"] * 9),
                  _block(34, [b"\xe0\x01\x02\x01\xff\xff\xff"]),
                  _rec048(b"\x81\x01\x01\x04", b"\x01\x02\x04\xc1\x80\x00"),  # SP LEN short
                  _rec048(b"\x81\x01\x01\x04", b"\x01\x02\x07\xc1\x10\x00\x00\x00\x00")],
}  # fmt: skip
LIBASTERIX_REFUSES_TOO = ("bad_length", "truncated", "bad_fspec", "unknown_item", "bad_item")


def test_every_decode_reason_is_exercised() -> None:
    assert set(REFUSED) == set(ax.DECODE_REASONS)


@pytest.mark.parametrize(("reason", "datagram"), [(k, d) for k, ds in REFUSED.items() for d in ds])
def test_decoder_refuses(reason: str, datagram: bytes) -> None:
    with pytest.raises(ax.AsterixError) as err:
        ax.decode(datagram)
    assert err.value.reason == reason
    assert isinstance(err.value, InputError) and "\n" not in str(err.value)
    if reason in LIBASTERIX_REFUSES_TOO:
        assert not _libasterix_accepts(datagram)


def _libasterix_accepts(datagram: bytes) -> bool:
    blocks = base.RawDatablock.parse(base.Bits.from_bytes(datagram))
    if isinstance(blocks, ValueError):
        return False
    for db in blocks:
        cat = {48: C48, 34: C34}[db.get_category()]
        if isinstance(cat.cv_uap.parse(db.get_raw_records()), ValueError):
            return False
    return True


def test_a_datagram_is_refused_as_a_whole() -> None:
    good = _good()
    assert len(ax.decode(good + good).plots) == 4
    empty_block = ax.decode(b"\x30\x00\x03")  # a datablock of no records: nothing in it
    assert len(empty_block.plots) == 0 and empty_block.services == ()
    with pytest.raises(ax.AsterixError):
        ax.decode(good + _rec048(b"\x00", b""))


@pytest.mark.parametrize(
    "kwargs",
    [{"sac": 256}, {"sic": -1}, {"tod_s": 86_400.0}, {"tod_s": math.nan},
     {"range_m": [math.nan]}, {"range_m": [-1.0]}, {"range_m": [5e7]}, {"azimuth_rad": [math.inf]},
     {"elevation_rad": [2.0]}, {"range_rate_m_s": [math.inf]}, {"range_rate_m_s": [1e9]},
     {"range_m": [1.0, 2.0]}, {"max_datagram_bytes": 10}],
)  # fmt: skip
def test_encoder_refuses_what_it_cannot_carry(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"sac": 1, "sic": 1, "tod_s": 1.0, "range_m": [1e4],
                            "azimuth_rad": [0.0], "elevation_rad": [0.1],
                            "range_rate_m_s": [1.0]} | kwargs  # fmt: skip
    with pytest.raises(InputError):
        ax.encode_plots(**args, radar_alt_m=0.0, simulated=False)


@pytest.mark.parametrize(
    "kwargs",
    [{"kind": "other"}, {"sac": 300}, {"tod_s": -1.0}, {"sector_rad": math.nan},
     {"rotation_period_s": 0.0}, {"rotation_period_s": 600.0}, {"rotation_period_s": math.inf}],
)  # fmt: skip
def test_service_encoder_refuses(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"sac": 1, "sic": 1, "kind": "north_marker", "tod_s": 1.0} | kwargs
    with pytest.raises(InputError):
        ax.encode_service(**args)


def test_the_layout_cache_stays_bounded_and_right() -> None:
    """Records whose layouts differ only in an I048/250 count (same FSPEC): many layouts, a
    bounded cache, and each block still read as its records one by one."""
    from redcolor.sensors import cat048

    fspec = b"\xd1\x20"  # 010, 140, 040 (and FX), 250 (FRN 10)
    for count in range(40):
        rec = fspec + b"\x01\x02" + bytes((0, 0, count)) + b"\x10\x00\x20\x00"
        rec += bytes((count,)) + b"\x00" * 8 * count
        block = _block(48, [rec] * 9)
        got = ax.decode(block).plots
        assert len(got) == 9 and (got.tod_s == count / 128).all()
        assert (got.range_m == 16 * 1852.0).all()
        assert len(cat048._LAYOUTS[fspec]) <= cat048.MAX_LAYOUTS_PER_FSPEC


def test_mutated_datagrams_are_accepted_or_refused_as_libasterix_does() -> None:
    """Differential fuzzing: only AsterixError escapes; whatever libasterix refuses, ours
    refuses; whatever ours accepts, libasterix accepts; ours refuses what libasterix accepts
    only for a reason libasterix does not check (a missing item, a value out of its domain)."""
    rng = np.random.default_rng(13)
    goods = ax.encode_plots(1, 2, 10.0, **_random_plots(rng, 30), radar_alt_m=0.0,
                            simulated=True, max_datagram_bytes=200)  # fmt: skip
    goods.append(ax.encode_service(1, 2, "north_marker", 5.0, sector_rad=1.0,
                                   rotation_period_s=4.0))  # fmt: skip
    semantic = {"missing_item", "bad_value"}
    outcomes: set[str] = set()
    for _ in range(800):
        g = bytearray(goods[rng.integers(len(goods))])
        for _ in range(rng.integers(1, 4)):
            op = rng.integers(3)
            if op == 0 and len(g) > 3:
                g[rng.integers(3, len(g))] ^= 1 << rng.integers(8)
            elif op == 1:
                g = g[: max(3, int(rng.integers(len(g) + 1)))]
            else:
                g += rng.integers(0, 256, rng.integers(1, 5), dtype=np.uint8).tobytes()
        g[0] = int(rng.choice([34, 48]))
        try:
            ax.decode(bytes(g))
            reason = "accepted"
        except ax.AsterixError as err:
            reason = err.reason
        outcomes.add(reason)
        lib = _libasterix_accepts(bytes(g))
        assert lib == (reason == "accepted") or (lib and reason in semantic), (reason, g.hex())
    assert {"accepted", "truncated", "bad_length"} <= outcomes
