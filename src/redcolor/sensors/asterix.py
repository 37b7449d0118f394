"""ASTERIX CAT048 (edition 1.32) target reports and CAT034 (edition 1.29) service messages.

Written by hand for speed; checked byte for byte against libasterix (the reference codec, a test
dependency) in ``tests/sensors/test_asterix.py``.

Wire layout (EUROCONTROL ASTERIX Part 4 Cat 048 ed. 1.32 and Part 2b Cat 034 ed. 1.29)
-------------------------------------------------------------------------------------
A datagram holds one or more datablocks ``CAT (u8) | LEN (u16, whole block) | records``; a
record is an FSPEC (one bit per UAP field reference number, FRN, bit 0 of each octet extends it)
followed by the items it flags, in FRN order. The encoder writes one datablock per datagram.

CAT048 items written:

* I048/010 SAC, SIC (u8 each).
* I048/140 time of day, u24, LSB 1/128 s.
* I048/020 target report descriptor, one octet: TYP=1 (single PSR detection), SIM, RDP=SPI=RAB=0.
* I048/040 RHO u16 (LSB 1/256 NM), THETA u16 (LSB 360/2^16 deg, clockwise from north).
* I048/110 height measured by a 3-D radar, 14-bit two's complement, LSB 25 ft.
* I048/120 radial Doppler speed, subfield CAL only: D=0 (valid), CAL 10-bit two's complement,
  LSB 1 m/s. Convention (the standard leaves it to the implementer): positive = receding,
  as :attr:`redcolor.model.Plot.rr`.
* I048/SP, redcolor's extension for what the standard items cannot carry::

      LEN (u8, = 3 + 4 * fields) | TAG 0xC1 (redcolor, layout 1) | MASK (u8) | fields, in order:
        MASK bit 7: range,        u32, LSB 1 cm         (RHO stops at 65535/256 NM = 474 km)
        MASK bit 6: elevation,    i32, LSB 1e-7 rad     (I048/110 stops at +-62.4 km height)
        MASK bit 5: radial speed, i32, LSB 1 cm/s       (CAL stops at +-511 m/s)
        MASK bits 4..0: zero.

  The encoder writes a standard item whenever it can carry the value, and SP only for values it
  cannot: a range beyond RHO (then RHO holds its maximum), an elevation whose height is beyond
  I048/110 (then /110 is left out), a radial speed beyond CAL (then /120 is left out). An SP with
  another TAG (another producer's extension) is skipped.

CAT034 items written: I034/010, /000 message type (1 north marker, 2 sector crossing), /030 time
of day (LSB 1/128 s), /020 sector number (LSB 360/2^8 deg) and /041 antenna rotation period
(LSB 1/128 s) where given.

The decoder knows the length rule of every item of both UAPs (fixed, FX-extended, repetitive,
compound, explicit), so it skips the items it does not use (/070, /090, /130, /220, /250 ...).
A datagram is accepted or refused as a whole: :class:`AsterixError` with one of
:data:`DECODE_REASONS`.

Height and elevation (ASSUMPTION, shared with ``sim/radar.py``): a spherical Earth of radius
:data:`redcolor.physics.ballistics.EARTH_MEAN_RADIUS_M` and straight lines of sight (no
refraction). The "height" of I048/110 is taken as the height above that sphere (mean sea level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redcolor.errors import InputError
from redcolor.physics.ballistics import EARTH_MEAN_RADIUS_M

CAT_PLOTS = 48
CAT_SERVICE = 34
NM_M = 1852.0
"""International nautical mile, metres (exact by definition)."""
FT_M = 0.3048
"""International foot, metres (exact by definition)."""
DAY_S = 86_400.0
TOD_LSB_S = 1.0 / 128.0
RHO_LSB_NM = 1.0 / 256.0
THETA_LSB_DEG = 360.0 / 65_536.0
HEIGHT_LSB_FT = 25.0
CAL_LSB_M_S = 1.0
SECTOR_LSB_DEG = 360.0 / 256.0
SP_TAG = 0xC1
SP_RANGE_LSB_M = 0.01
SP_ELEVATION_LSB_RAD = 1e-7
SP_SPEED_LSB_M_S = 0.01
SP_RANGE, SP_ELEVATION, SP_SPEED = 0x80, 0x40, 0x20
UDP_MAX_PAYLOAD_BYTES = 65_527
"""The largest UDP payload (IPv6 without jumbograms; IPv4's is 65,507)."""
MAX_DATAGRAM_BYTES = 1400
"""What the encoder packs a datagram to: fits an Ethernet MTU of 1500 with IPv6 and UDP headers."""

DECODE_REASONS: tuple[str, ...] = (
    "empty",           # a datagram of no bytes
    "too_large",       # more than UDP_MAX_PAYLOAD_BYTES
    "wrong_category",  # a datablock of another category than 34 or 48
    "bad_length",      # a datablock LEN below 3 or beyond the end of the datagram
    "truncated",       # a datablock header, record or item cut off by the end of its block
    "bad_fspec",       # an FSPEC longer than the UAP allows (flags an FRN it does not define)
    "unknown_item",    # an FSPEC bit for a subfield the UAP does not define
    "bad_item",        # an item against its own structure (extension bit, subfield, LEN 0 ...)
    "missing_item",    # a record without its mandatory items (I048/010; I034/010 and /000)
    "bad_value",       # a value outside its defined domain (time of day >= 24 h, SP layout)
)
"""Why :func:`decode` refuses a datagram (for counting)."""

SERVICE_KINDS = {1: "north_marker", 2: "sector_crossing"}
SERVICE_CODES = {"north_marker": 1, "sector_crossing": 2}

# Length rules per FRN (index FRN - 1): ("fixed", n), ("fx", max octets or 0 = unlimited),
# ("rep", element bytes) with a one-octet count, ("compound", subfield rules), ("explicit",),
# None where the UAP defines no item.
_Rule = tuple
_UAP_048: tuple[_Rule, ...] = (
    ("fixed", 2), ("fixed", 3), ("fx", 6), ("fixed", 4), ("fixed", 2), ("fixed", 2),
    ("compound", (("fixed", 1),) * 7),                      # /130
    ("fixed", 3), ("fixed", 6), ("rep", 8), ("fixed", 2), ("fixed", 4), ("fixed", 4),
    ("fx", 2),                                              # /170
    ("fixed", 4), ("fx", 0), ("fixed", 2), ("fixed", 4), ("fixed", 2),
    ("compound", (("fixed", 2), ("rep", 6))),               # /120
    ("fixed", 2), ("fixed", 7), ("fixed", 1), ("fixed", 2), ("fixed", 1), ("fixed", 2),
    ("explicit",), ("explicit",),                           # SP, RE
)  # fmt: skip
_UAP_034: tuple[_Rule, ...] = (
    ("fixed", 2), ("fixed", 1), ("fixed", 3), ("fixed", 1), ("fixed", 2),
    ("compound", (("fixed", 1), None, None, ("fixed", 1), ("fixed", 1), ("fixed", 2))),  # /050
    ("compound", (("fixed", 1), None, None, ("fixed", 1), ("fixed", 1), ("fixed", 1))),  # /060
    ("rep", 2), ("fixed", 8), ("fixed", 1), ("fixed", 8), ("fixed", 2),
    ("explicit",), ("explicit",),                           # RE, SP
)  # fmt: skip
_FSPEC_MAX = {CAT_PLOTS: 4, CAT_SERVICE: 2}
"""FSPEC octets at most: both UAPs define an item for every FRN these can flag (4 x 7 = 28 for
CAT048, 2 x 7 = 14 for CAT034), so an unknown FRN shows as an FSPEC too long."""
_UAPS = {CAT_PLOTS: _UAP_048, CAT_SERVICE: _UAP_034}
# FRNs the decoder reads.
F048_010, F048_140, F048_020, F048_040, F048_110, F048_120, F048_SP = 1, 2, 3, 4, 19, 20, 27
F034_010, F034_000, F034_030, F034_020, F034_041 = 1, 2, 3, 4, 5


class AsterixError(InputError):
    """A datagram the decoder refuses; ``reason`` is one of :data:`DECODE_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in DECODE_REASONS, reason
        super().__init__(f"ASTERIX datagram refused ({reason}): {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PlotColumns:
    """The CAT048 reports of one datagram, in order; NaN marks a field a report did not carry."""

    sac: NDArray[np.uint8]
    sic: NDArray[np.uint8]
    tod_s: NDArray[np.float64]
    range_m: NDArray[np.float64]
    azimuth_rad: NDArray[np.float64]
    height_m: NDArray[np.float64]
    elevation_rad: NDArray[np.float64]
    range_rate_m_s: NDArray[np.float64]
    simulated: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.sac.shape[0])


@dataclass(frozen=True, slots=True)
class ServiceMessage:
    """One CAT034 record."""

    sac: int
    sic: int
    kind: Literal["north_marker", "sector_crossing", "other"]
    tod_s: float
    sector_rad: float | None
    rotation_period_s: float | None


@dataclass(frozen=True, slots=True)
class Decoded:
    plots: PlotColumns
    services: tuple[ServiceMessage, ...]


# --- geometry --------------------------------------------------------------------------------


def height_from_elevation_m(
    range_m: ArrayLike, elevation_rad: ArrayLike, radar_alt_m: ArrayLike
) -> NDArray[np.float64]:
    """Height above the sphere of a target at slant ``range_m`` and ``elevation_rad`` from a
    radar ``radar_alt_m`` above it (spherical Earth, straight line of sight)::

        (R + h)^2 = (R + a)^2 + r^2 + 2 r (R + a) sin(el)

    solved as ``h = a + (r^2 + 2 r (R + a) sin el) / (sqrt(...) + R + a)`` (no cancellation).
    Broadcasts its arguments.
    """
    r = np.asarray(range_m, dtype=np.float64)
    ra = EARTH_MEAN_RADIUS_M + np.asarray(radar_alt_m, dtype=np.float64)
    extra = r * (r + 2.0 * ra * np.sin(np.asarray(elevation_rad, dtype=np.float64)))
    return ra - EARTH_MEAN_RADIUS_M + extra / (np.sqrt(ra * ra + extra) + ra)


def elevation_from_height_rad(
    range_m: ArrayLike, height_m: ArrayLike, radar_alt_m: ArrayLike
) -> NDArray[np.float64]:
    """Elevation of a target at slant ``range_m`` and ``height_m`` above the sphere, the inverse
    of :func:`height_from_elevation_m`::

        sin(el) = ((h - a) (2 R + h + a) - r^2) / (2 r (R + a))

    NaN where no elevation fits (the height is out of reach at that range, or ``range_m <= 0``).
    """
    r = np.asarray(range_m, dtype=np.float64)
    a = np.asarray(radar_alt_m, dtype=np.float64)
    h = np.asarray(height_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = ((h - a) * (2.0 * EARTH_MEAN_RADIUS_M + h + a) - r * r) / (
            2.0 * r * (EARTH_MEAN_RADIUS_M + a)
        )
        s = np.where((r > 0.0) & (np.abs(s) <= 1.0), s, np.nan)
        return np.arcsin(s)


def tod_of_unix_s(t_unix_s: float) -> float:
    """Seconds since the UTC midnight before ``t_unix_s``, in [0, 86400) (Unix time has no leap
    seconds, so every UTC day is 86,400 of its seconds)."""
    tod = math.fmod(t_unix_s, DAY_S)
    if tod < 0.0:
        tod += DAY_S
    return 0.0 if tod >= DAY_S else tod


# --- encoder ---------------------------------------------------------------------------------


def _byte_id(name: str, value: int) -> int:
    if not 0 <= value <= 255:
        raise InputError(f"{name} must be 0..255, got {value}")
    return int(value)


def _tod_raw(tod_s: float) -> int:
    """I048/140 and I034/030: time of day in 1/128 s; a value that rounds up to 24 h is the
    next day's midnight, 0."""
    if not (math.isfinite(tod_s) and 0.0 <= tod_s < DAY_S):
        raise InputError(f"time of day must be in [0, 86400) s, got {tod_s}")
    return round(tod_s / TOD_LSB_S) % round(DAY_S / TOD_LSB_S)


def _column(name: str, values: ArrayLike, n: int | None) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise InputError(f"{name} must be a 1-D array of {n or 'N'} values, got shape {arr.shape}")
    return arr


def _sp_raw(name: str, values: NDArray[np.float64], lsb: float, lo: int, hi: int) -> NDArray:
    raw = np.rint(values / lsb)
    if raw.size and not (np.all(raw >= lo) and np.all(raw <= hi)):
        raise InputError(f"{name} beyond what the SP extension carries")
    return raw.astype(np.int64)


def encode_plots(
    sac: int,
    sic: int,
    tod_s: float,
    range_m: ArrayLike,
    azimuth_rad: ArrayLike,
    elevation_rad: ArrayLike,
    range_rate_m_s: ArrayLike | None,
    *,
    radar_alt_m: float,
    simulated: bool,
    max_datagram_bytes: int = MAX_DATAGRAM_BYTES,
) -> list[bytes]:
    """The plots of one scan as CAT048 datagrams of at most ``max_datagram_bytes``, each one
    datablock, the plots in their given order (none for no plots).

    ``range_rate_m_s`` None (or a NaN entry) leaves I048/120 out. Raises InputError on
    non-finite, negative or unrepresentable values, or ids out of 0..255.
    """
    sac_b, sic_b = _byte_id("sac", sac), _byte_id("sic", sic)
    tod = _tod_raw(tod_s)
    r = _column("range_m", range_m, None)
    n = r.shape[0]
    az = _column("azimuth_rad", azimuth_rad, n)
    el = _column("elevation_rad", elevation_rad, n)
    rr = np.full(n, np.nan) if range_rate_m_s is None else _column("range_rate_m_s",
                                                                   range_rate_m_s, n)
    if not (np.all(np.isfinite(r)) and np.all(r >= 0.0) and np.all(np.isfinite(az))):
        raise InputError("ranges must be finite and >= 0, azimuths finite")
    if not np.all(np.abs(el) <= 0.5 * np.pi):
        raise InputError("elevations must be finite, within +-pi/2")
    if not np.all(np.isfinite(rr) | np.isnan(rr)):
        raise InputError("radial speeds must be finite or NaN (absent)")
    if max_datagram_bytes < 64 or max_datagram_bytes > UDP_MAX_PAYLOAD_BYTES:
        raise InputError(f"max_datagram_bytes must be 64..{UDP_MAX_PAYLOAD_BYTES}")
    if n == 0:
        return []

    rho = np.rint(r / NM_M / RHO_LSB_NM).astype(np.int64)
    sp_range = rho > 0xFFFF
    rho[sp_range] = 0xFFFF
    theta = np.rint(np.degrees(az) / THETA_LSB_DEG).astype(np.int64) % 65_536
    h = np.rint(height_from_elevation_m(r, el, radar_alt_m) / FT_M / HEIGHT_LSB_FT)
    has110 = np.abs(h) <= 8191
    h110 = np.where(has110, h, 0).astype(np.int64) & 0x3FFF
    has_rr = ~np.isnan(rr)
    cal = np.rint(np.where(has_rr, rr, 0.0) / CAL_LSB_M_S)
    has120 = has_rr & (np.abs(cal) <= 511)
    cal120 = np.where(has120, cal, 0).astype(np.int64) & 0x3FF
    sp_el = ~has110
    sp_rr = has_rr & ~has120
    mask = (SP_RANGE * sp_range) | (SP_ELEVATION * sp_el) | (SP_SPEED * sp_rr)
    sp_r_raw = _sp_raw("range", np.where(sp_range, r, 0.0), SP_RANGE_LSB_M, 0, 2**32 - 1)
    sp_e_raw = _sp_raw("elevation", np.where(sp_el, el, 0.0), SP_ELEVATION_LSB_RAD,
                       -(2**31), 2**31 - 1)
    sp_s_raw = _sp_raw("radial speed", np.where(sp_rr, rr, 0.0), SP_SPEED_LSB_M_S,
                       -(2**31), 2**31 - 1)
    common = {
        "tod": tod, "sac": sac_b, "sic": sic_b, "i020": 0x20 | (0x10 if simulated else 0),
        "rho": rho, "theta": theta, "h110": h110, "cal": cal120,
        "sp_r": sp_r_raw, "sp_e": sp_e_raw, "sp_s": sp_s_raw,
    }  # fmt: skip
    key = has110.astype(np.int64) | (has120.astype(np.int64) << 1) | (mask.astype(np.int64) << 2)
    records: list[bytes] = [b""] * n
    for k in np.unique(key).tolist():
        idx = np.flatnonzero(key == k)
        rows = _records_of_layout(bool(k & 1), bool(k & 2), k >> 2, idx, common)
        width = rows.shape[1]
        blob = rows.tobytes()
        for j, i in enumerate(idx.tolist()):
            records[i] = blob[j * width : (j + 1) * width]
    return _pack(CAT_PLOTS, records, max_datagram_bytes)


def _records_of_layout(
    has110: bool, has120: bool, sp_mask: int, idx: NDArray[np.intp], c: dict
) -> NDArray[np.uint8]:
    """The records (k, width) of the plots ``idx``, which all share one item layout."""
    fspec = [0xF0]
    if has110 or has120 or sp_mask:
        fspec = [0xF1, 0x01, (0x08 if has110 else 0) | (0x04 if has120 else 0)]
        if sp_mask:
            fspec[2] |= 0x01
            fspec.append(0x04)
    n_sp = bin(sp_mask).count("1")
    width = len(fspec) + 10 + 2 * has110 + 3 * has120 + (3 + 4 * n_sp if sp_mask else 0)
    out = np.empty((idx.shape[0], width), dtype=np.uint8)
    o = 0
    for b in fspec:
        out[:, o] = b
        o += 1
    for b in (c["sac"], c["sic"], c["tod"] >> 16, (c["tod"] >> 8) & 0xFF, c["tod"] & 0xFF,
              c["i020"]):
        out[:, o] = b
        o += 1

    def put(values: NDArray[np.int64], nbytes: int) -> None:
        nonlocal o
        v = values[idx]
        for s in range(nbytes - 1, -1, -1):
            out[:, o] = (v >> (8 * s)) & 0xFF
            o += 1

    put(c["rho"], 2)
    put(c["theta"], 2)
    if has110:
        put(c["h110"], 2)
    if has120:
        out[:, o] = 0x80  # subfield CAL only
        o += 1
        put(c["cal"], 2)
    if sp_mask:
        out[:, o : o + 3] = (3 + 4 * n_sp, SP_TAG, sp_mask)
        o += 3
        for bit, name in ((SP_RANGE, "sp_r"), (SP_ELEVATION, "sp_e"), (SP_SPEED, "sp_s")):
            if sp_mask & bit:
                put(c[name] & 0xFFFFFFFF, 4)
    assert o == width
    return out


def _pack(cat: int, records: list[bytes], max_bytes: int) -> list[bytes]:
    """Records into datablocks of at most ``max_bytes``, one per datagram, in order."""
    out: list[bytes] = []
    chunk: list[bytes] = []
    size = 3
    for rec in records:
        if size + len(rec) > max_bytes and chunk:
            out.append(bytes((cat, size >> 8, size & 0xFF)) + b"".join(chunk))
            chunk, size = [], 3
        chunk.append(rec)
        size += len(rec)
    if chunk:
        out.append(bytes((cat, size >> 8, size & 0xFF)) + b"".join(chunk))
    return out


def encode_service(
    sac: int,
    sic: int,
    kind: Literal["north_marker", "sector_crossing"],
    tod_s: float,
    *,
    sector_rad: float | None = None,
    rotation_period_s: float | None = None,
) -> bytes:
    """One CAT034 datagram holding one service message."""
    if kind not in SERVICE_CODES:
        raise InputError(f"service message kind must be one of {sorted(SERVICE_CODES)}")
    tod = _tod_raw(tod_s)
    body = bytearray((_byte_id("sac", sac), _byte_id("sic", sic), SERVICE_CODES[kind],
                      tod >> 16, (tod >> 8) & 0xFF, tod & 0xFF))
    fspec = 0xE0
    if sector_rad is not None:
        if not math.isfinite(sector_rad):
            raise InputError(f"sector_rad must be finite, got {sector_rad}")
        fspec |= 0x10
        body.append(round(math.degrees(sector_rad) / SECTOR_LSB_DEG) % 256)
    if rotation_period_s is not None:
        raw = round(rotation_period_s / TOD_LSB_S) if math.isfinite(rotation_period_s) else -1
        if not 0 < raw <= 0xFFFF:
            raise InputError(f"rotation_period_s must be in (0, 512) s, got {rotation_period_s}")
        fspec |= 0x08
        body += raw.to_bytes(2, "big")
    size = 4 + len(body)
    return bytes((CAT_SERVICE, size >> 8, size & 0xFF, fspec)) + bytes(body)


# --- decoder ---------------------------------------------------------------------------------

_FIXED, _FX, _REP, _EXPLICIT, _COMPOUND = range(5)
_KIND = {"fixed": _FIXED, "fx": _FX, "rep": _REP, "explicit": _EXPLICIT, "compound": _COMPOUND}


def _compile(rule: _Rule | None) -> tuple | None:
    """A length rule as (kind code, argument), subfield rules compiled too."""
    if rule is None:
        return None
    if rule[0] == "compound":
        return (_COMPOUND, tuple(_compile(s) for s in rule[1]))
    return (_KIND[rule[0]], rule[1] if len(rule) > 1 else 0)


_RULES = {cat: tuple(_compile(r) for r in uap) for cat, uap in _UAPS.items()}
_SET_BITS = tuple(tuple(i for i in range(7) if b & (0x80 >> i)) for b in range(256))
"""Per FSPEC octet value, the positions (0 = most significant) of its set item bits."""
_TOD_END = round(DAY_S / TOD_LSB_S)
_THETA_RAD = 2.0 * math.pi / 65_536.0
_RHO_M = RHO_LSB_NM * NM_M
_HEIGHT_M = HEIGHT_LSB_FT * FT_M
_SECTOR_RAD = 2.0 * math.pi / 256.0


def _skip(d: bytes, q: int, end: int, rule: tuple, dets: list | None) -> int:
    """The offset after the item at ``q`` that follows ``rule``. ``dets`` collects the
    (offset, mask, value) octet bits that decided its length."""
    kind, arg = rule
    if kind == _FIXED:
        q += arg
    elif kind == _FX:
        octets = 0
        while True:
            if q >= end:
                raise AsterixError("truncated", "extended item runs past its datablock")
            octets += 1
            more = d[q] & 1
            if dets is not None:
                dets.append((q, 1, more))
            q += 1
            if not more:
                break
            if octets == arg:
                raise AsterixError("bad_item", "extended item goes on after its last octet")
    elif kind in (_REP, _EXPLICIT):
        if q >= end:
            raise AsterixError("truncated", "item runs past its datablock")
        if dets is not None:
            dets.append((q, 0xFF, d[q]))
        if kind == _REP:
            q += 1 + d[q] * arg
        elif d[q] == 0:
            raise AsterixError("bad_item", "explicit item of length 0")
        else:
            q += d[q]
    else:
        if q >= end:
            raise AsterixError("truncated", "compound item runs past its datablock")
        prim = d[q]
        if dets is not None:
            dets.append((q, 0xFF, prim))
        if prim & 1:
            raise AsterixError("bad_item", "compound item with an extended primary subfield")
        q += 1
        for i in _SET_BITS[prim]:
            sub = arg[i] if i < len(arg) else None
            if sub is None:
                raise AsterixError("unknown_item", "compound item flags an undefined subfield")
            q = _skip(d, q, end, sub, dets)
    if q > end:
        raise AsterixError("truncated", "item runs past its datablock")
    return q


def _walk(d: bytes, p: int, end: int, cat: int, at: list[int], dets: list | None) -> int:
    """Parse the FSPEC of the record at ``p`` and skip through its items, writing each
    item's offset into ``at[frn]``; returns the offset after the record."""
    rules = _RULES[cat]
    q = p
    while True:
        if q >= end:
            raise AsterixError("truncated", "FSPEC runs past its datablock")
        more = d[q] & 1
        q += 1
        if not more:
            break
    if q - p > _FSPEC_MAX[cat]:
        raise AsterixError("bad_fspec", f"CAT{cat:03d} FSPEC of {q - p} octets")
    if dets is not None:
        dets.extend((i, 0xFF, d[i]) for i in range(p, q))
    for k in range(q - p):
        for i in _SET_BITS[d[p + k]]:
            frn = 7 * k + i + 1
            at[frn] = q
            q = _skip(d, q, end, rules[frn - 1], dets)
    return q


_Columns = tuple[NDArray, ...]
"""The nine columns of :class:`PlotColumns`, in its field order."""


class _PlotLists:
    """The CAT048 columns of one datablock read record by record, growing as lists."""

    def __init__(self) -> None:
        self.sac: list[int] = []
        self.sic: list[int] = []
        self.tod_s: list[float] = []
        self.range_m: list[float] = []
        self.azimuth_rad: list[float] = []
        self.height_m: list[float] = []
        self.elevation_rad: list[float] = []
        self.range_rate_m_s: list[float] = []
        self.simulated: list[bool] = []

    def columns(self) -> _Columns:
        f8 = np.float64
        return (
            np.array(self.sac, dtype=np.uint8), np.array(self.sic, dtype=np.uint8),
            np.array(self.tod_s, dtype=f8), np.array(self.range_m, dtype=f8),
            np.array(self.azimuth_rad, dtype=f8), np.array(self.height_m, dtype=f8),
            np.array(self.elevation_rad, dtype=f8), np.array(self.range_rate_m_s, dtype=f8),
            np.array(self.simulated, dtype=np.bool_),
        )  # fmt: skip


def _joined(chunks: list[_Columns]) -> PlotColumns:
    """The columns of a datagram's CAT048 blocks, in order."""
    if len(chunks) == 1:
        return PlotColumns(*chunks[0])
    if not chunks:
        chunks = [_PlotLists().columns()]
    return PlotColumns(*(np.concatenate(cols) for cols in zip(*chunks, strict=True)))


def _sp_fields(d: bytes, o: int) -> tuple[float, float, float] | None:
    """(range m, elevation rad, radial speed m/s; NaN where absent) of redcolor's SP at ``o``,
    None for another producer's SP."""
    n = d[o]
    if n < 2 or d[o + 1] != SP_TAG:
        return None
    if n < 3 or d[o + 2] & 0x1F or n != 3 + 4 * bin(d[o + 2]).count("1"):
        raise AsterixError("bad_value", "redcolor SP field of a wrong layout")
    mask = d[o + 2]
    o += 3
    out = [math.nan, math.nan, math.nan]
    for j, (bit, lsb, signed) in enumerate(
        ((SP_RANGE, SP_RANGE_LSB_M, False), (SP_ELEVATION, SP_ELEVATION_LSB_RAD, True),
         (SP_SPEED, SP_SPEED_LSB_M_S, True))
    ):  # fmt: skip
        if mask & bit:
            out[j] = int.from_bytes(d[o : o + 4], "big", signed=signed) * lsb
            o += 4
    return out[0], out[1], out[2]


def _tod(d: bytes, o: int) -> float:
    raw = (d[o] << 16) | (d[o + 1] << 8) | d[o + 2]
    if raw >= _TOD_END:
        raise AsterixError("bad_value", f"time of day {raw * TOD_LSB_S} s is not before 24 h")
    return raw * TOD_LSB_S


COLUMN_MIN_RECORDS = 8
"""Blocks of fewer records than this are read record by record (numpy's per-call cost)."""
MAX_LAYOUTS = 1024
"""FSPECs whose record layouts are remembered (a sender of ever new layouts makes the cache
start over)."""
MAX_LAYOUTS_PER_FSPEC = 16


@dataclass(frozen=True, slots=True)
class _Layout:
    """The layout of a CAT048 record: its length, the octets that decide it, and where the
    fields the decoder reads sit in it (a numpy record type over those octets)."""

    width: int
    checks: tuple[tuple[int, int, int], ...]
    """(offset, mask, value) beyond the FSPEC: extension bits, counts, lengths, SP tag/mask."""
    dtype: np.dtype
    deciding: tuple[NDArray[np.intp], NDArray[np.uint8], NDArray[np.uint8]]
    """All the deciding octets, FSPEC included, as (offsets, masks, values) arrays."""


_LAYOUTS: dict[bytes, list[_Layout]] = {}


def _layout(d: bytes, p: int, end: int) -> _Layout:
    """Walk the record at ``p`` (refusing it as the one-by-one reader does) and describe its
    layout; every record with the same FSPEC and ``checks`` parses the same way."""
    at = [0] * 29
    dets: list[tuple[int, int, int]] = []
    width = _walk(d, p, end, CAT_PLOTS, at, dets) - p
    if not at[F048_010]:
        raise AsterixError("missing_item", "CAT048 record without I048/010")
    fields: list[tuple[str, str, int]] = [("sac", "u1", at[F048_010]), ("sic", "u1",
                                          at[F048_010] + 1)]  # fmt: skip
    if o := at[F048_140]:
        fields += [("tod_hi", "u1", o), ("tod_lo", ">u2", o + 1)]
    if o := at[F048_020]:
        fields.append(("i020", "u1", o))
    if o := at[F048_040]:
        fields += [("rho", ">u2", o), ("theta", ">u2", o + 2)]
    if o := at[F048_110]:
        fields.append(("h110", ">u2", o))
    if (o := at[F048_120]) and d[o] & 0x80:
        fields.append(("cal", ">u2", o + 1))
    if o := at[F048_SP]:
        if d[o] >= 2:
            dets.append((o + 1, 0xFF, d[o + 1]))  # the producer's tag
        if _sp_fields(d, o) is not None:  # ours, of a valid layout (else refused)
            sp_mask = d[o + 2]
            dets.append((o + 2, 0xFF, sp_mask))
            q = o + 3
            for bit, name, fmt in ((SP_RANGE, "sp_r", ">u4"), (SP_ELEVATION, "sp_e", ">i4"),
                                   (SP_SPEED, "sp_s", ">i4")):  # fmt: skip
                if sp_mask & bit:
                    fields.append((name, fmt, q))
                    q += 4
    names, formats, offsets = zip(*fields, strict=True)
    dtype = np.dtype({"names": list(names), "formats": list(formats),
                      "offsets": [x - p for x in offsets], "itemsize": width})  # fmt: skip
    fspec_end = p + 1
    while d[fspec_end - 1] & 1:
        fspec_end += 1
    checks = tuple((x - p, m, v) for x, m, v in dets if x >= fspec_end)
    offs, masks, vals = zip(*((x - p, m, v) for x, m, v in dets), strict=True)
    deciding = (np.array(offs, dtype=np.intp), np.array(masks, dtype=np.uint8),
                np.array(vals, dtype=np.uint8))  # fmt: skip
    return _Layout(width, checks, dtype, deciding)


def _columns_of(rec: NDArray, lay: _Layout) -> _Columns:
    """The nine plot columns of records ``rec`` (of numpy record type ``lay.dtype``)."""
    m = rec.shape[0]
    names = lay.dtype.names or ()

    def nan() -> NDArray[np.float64]:
        return np.full(m, np.nan)

    tod, rng, az, h, el, rr = nan(), nan(), nan(), nan(), nan(), nan()
    if "tod_hi" in names:
        raw = (rec["tod_hi"].astype(np.int64) << 16) | rec["tod_lo"]
        if raw.max() >= _TOD_END:
            raise AsterixError("bad_value", "a time of day not before 24 h")
        tod = raw * TOD_LSB_S
    if "rho" in names:
        rng = rec["rho"] * _RHO_M
        az = rec["theta"] * _THETA_RAD
    if "h110" in names:
        raw = rec["h110"].astype(np.int64) & 0x3FFF
        h = (raw - ((raw & 0x2000) << 1)) * _HEIGHT_M
    if "cal" in names:
        raw = rec["cal"].astype(np.int64)
        rr = np.where(raw & 0x8000, np.nan, ((raw & 0x3FF) - ((raw & 0x200) << 1)) * CAL_LSB_M_S)
    if "sp_r" in names:
        rng = rec["sp_r"] * SP_RANGE_LSB_M
    if "sp_e" in names:
        el = rec["sp_e"] * SP_ELEVATION_LSB_RAD
    if "sp_s" in names:
        rr = rec["sp_s"] * SP_SPEED_LSB_M_S
    sim = (rec["i020"] & 0x10) != 0 if "i020" in names else np.zeros(m, dtype=np.bool_)
    return (rec["sac"].copy(), rec["sic"].copy(), tod, rng, az, h, el, rr, sim)


def _known_layout(d: bytes, p: int, end: int) -> _Layout:
    """The layout of the record at ``p``: a remembered one whose FSPEC and deciding octets it
    has, else a new one from a walk (which refuses a bad record)."""
    q = p
    while q < end and d[q] & 1:
        q += 1
    fspec = d[p : q + 1] if q < end else b""
    for cand in _LAYOUTS.get(fspec, ()):
        if p + cand.width <= end:
            for o, k, v in cand.checks:
                if d[p + o] & k != v:
                    break
            else:
                return cand
    lay = _layout(d, p, end)
    if len(_LAYOUTS) >= MAX_LAYOUTS:
        _LAYOUTS.clear()
    known = _LAYOUTS.setdefault(fspec, [])
    if len(known) >= MAX_LAYOUTS_PER_FSPEC:
        known.clear()
    known.append(lay)
    return lay


def _columns_048(d: bytes, p: int, end: int) -> _Columns | None:
    """The plots of the CAT048 records from ``p`` to ``end``, read as columns; None for a block
    of few records.

    When every record has the first one's layout (checked at once on a (records, width) octet
    array), the block is one numpy record array. Otherwise one pass finds each record's layout,
    and the records of each layout are gathered and read at once.
    """
    first = _known_layout(d, p, end)
    m, rest = divmod(end - p, first.width)
    if m < COLUMN_MIN_RECORDS and not rest:
        return None
    if not rest:
        rows = np.frombuffer(d, dtype=np.uint8, count=m * first.width, offset=p)
        offs, masks, vals = first.deciding
        if ((rows.reshape(m, first.width)[:, offs] & masks) == vals).all():
            return _columns_of(rows.view(first.dtype), first)
    starts: list[int] = []
    kinds: list[_Layout] = []
    lay = first
    while True:
        starts.append(p)
        kinds.append(lay)
        p += lay.width
        if p >= end:
            break
        lay = _known_layout(d, p, end)
    if len(starts) < COLUMN_MIN_RECORDS:
        return None
    buf = np.frombuffer(d, dtype=np.uint8)
    at = np.array(starts)
    order = np.array([id(k) for k in kinds])
    out: _Columns | None = None
    for lay in {id(k): k for k in kinds}.values():
        sel = np.flatnonzero(order == id(lay))
        rows = buf[at[sel, None] + np.arange(lay.width)]
        cols = _columns_of(rows.view(lay.dtype).reshape(-1), lay)
        if out is None:
            out = tuple(np.empty(len(starts), dtype=c.dtype) for c in cols)
        for o, c in zip(out, cols, strict=True):
            o[sel] = c
    return out


def _records_048(d: bytes, p: int, end: int) -> _Columns:
    """The plots of the CAT048 records from ``p`` to ``end``: all at once if they share one
    layout, else record by record."""
    if (cols := _columns_048(d, p, end)) is not None:
        return cols
    out = _PlotLists()
    nan = math.nan
    while p < end:
        at = [0] * 29
        p = _walk(d, p, end, CAT_PLOTS, at, None)
        o = at[F048_010]
        if not o:
            raise AsterixError("missing_item", "CAT048 record without I048/010")
        out.sac.append(d[o])
        out.sic.append(d[o + 1])
        o = at[F048_140]
        out.tod_s.append(_tod(d, o) if o else nan)
        o = at[F048_020]
        out.simulated.append(bool(o and d[o] & 0x10))
        rng = az = h = el = rr = nan
        o = at[F048_040]
        if o:
            rng = ((d[o] << 8) | d[o + 1]) * _RHO_M
            az = ((d[o + 2] << 8) | d[o + 3]) * _THETA_RAD
        o = at[F048_110]
        if o:
            raw = ((d[o] << 8) | d[o + 1]) & 0x3FFF
            h = (raw - 0x4000 if raw & 0x2000 else raw) * _HEIGHT_M
        o = at[F048_120]
        if o and d[o] & 0x80 and not d[o + 1] & 0x80:  # CAL present, D = 0 (valid)
            raw = ((d[o + 1] << 8) | d[o + 2]) & 0x3FF
            rr = (raw - 0x400 if raw & 0x200 else raw) * CAL_LSB_M_S
        o = at[F048_SP]
        if o and (sp := _sp_fields(d, o)) is not None:
            if sp[0] == sp[0]:
                rng = sp[0]
            el = sp[1]
            if sp[2] == sp[2]:
                rr = sp[2]
        out.range_m.append(rng)
        out.azimuth_rad.append(az)
        out.height_m.append(h)
        out.elevation_rad.append(el)
        out.range_rate_m_s.append(rr)
    return out.columns()


def _records_034(d: bytes, p: int, end: int, out: list[ServiceMessage]) -> None:
    while p < end:
        at = [0] * 15
        p = _walk(d, p, end, CAT_SERVICE, at, None)
        o, m = at[F034_010], at[F034_000]
        if not (o and m):
            raise AsterixError("missing_item", "CAT034 record without I034/010 or I034/000")
        t, s, w = at[F034_030], at[F034_020], at[F034_041]
        out.append(ServiceMessage(
            sac=d[o], sic=d[o + 1], kind=SERVICE_KINDS.get(d[m], "other"),  # type: ignore[arg-type]
            tod_s=_tod(d, t) if t else math.nan,
            sector_rad=d[s] * _SECTOR_RAD if s else None,
            rotation_period_s=((d[w] << 8) | d[w + 1]) * TOD_LSB_S if w else None,
        ))  # fmt: skip


def decode(datagram: bytes) -> Decoded:
    """The CAT048 plots (as columns) and CAT034 service messages of one datagram, which may
    hold several datablocks. Raises :class:`AsterixError` and keeps nothing of a datagram it
    refuses."""
    d = bytes(datagram)
    n = len(d)
    if n == 0:
        raise AsterixError("empty", "no bytes")
    if n > UDP_MAX_PAYLOAD_BYTES:
        raise AsterixError("too_large", f"{n} bytes")
    plots: list[_Columns] = []
    services: list[ServiceMessage] = []
    p = 0
    while p < n:
        if n - p < 3:
            raise AsterixError("truncated", f"{n - p} bytes left after the last datablock")
        cat, size = d[p], (d[p + 1] << 8) | d[p + 2]
        if cat != CAT_PLOTS and cat != CAT_SERVICE:
            raise AsterixError("wrong_category", f"category {cat}")
        if size < 3 or p + size > n:
            raise AsterixError("bad_length", f"datablock LEN {size} with {n - p} bytes left")
        if cat == CAT_PLOTS:
            plots.append(_records_048(d, p + 3, p + size))
        else:
            _records_034(d, p + 3, p + size, services)
        p += size
    return Decoded(_joined(plots), tuple(services))
