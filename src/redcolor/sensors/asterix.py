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

(I034/041 is titled "antenna rotation speed" but carries the period of one turn.)

The decoder knows the length rule of every item of both UAPs (fixed, FX-extended, repetitive,
compound, explicit; :mod:`redcolor.sensors.uap`), so it skips the items it does not use (/070,
/090, /130, /220, /250 ...). A datagram is accepted or refused as a whole:
:class:`AsterixError` with one of :data:`DECODE_REASONS`. CAT048 blocks of many records are
read as numpy record arrays, one per record layout (:mod:`redcolor.sensors.cat048`).

Height and elevation (ASSUMPTION, shared with ``sim/radar.py``): a spherical Earth and straight
lines of sight; the "height" of I048/110 is the height above that sphere (mean sea level). See
:mod:`redcolor.sensors.geometry`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redcolor.errors import InputError
from redcolor.sensors.cat048 import Columns, PlotLists, read_plots
from redcolor.sensors.geometry import elevation_from_height_rad, height_from_elevation_m
from redcolor.sensors.uap import (
    CAL_LSB_M_S,
    CAT_PLOTS,
    CAT_SERVICE,
    DAY_S,
    DECODE_REASONS,
    F034_000,
    F034_010,
    F034_020,
    F034_030,
    F034_041,
    FT_M,
    HEIGHT_LSB_FT,
    MAX_DATAGRAM_BYTES,
    NM_M,
    RHO_LSB_NM,
    SECTOR_LSB_DEG,
    SECTOR_RAD,
    SP_ELEVATION,
    SP_ELEVATION_LSB_RAD,
    SP_RANGE,
    SP_RANGE_LSB_M,
    SP_SPEED,
    SP_SPEED_LSB_M_S,
    SP_TAG,
    THETA_LSB_DEG,
    TOD_LSB_S,
    UDP_MAX_PAYLOAD_BYTES,
    AsterixError,
    read_tod,
    walk_record,
)

__all__ = [
    "DECODE_REASONS", "MAX_DATAGRAM_BYTES", "UDP_MAX_PAYLOAD_BYTES", "AsterixError", "Decoded",
    "PlotColumns", "ServiceMessage", "decode", "elevation_from_height_rad", "encode_plots",
    "encode_service", "height_from_elevation_m", "tod_of_unix_s",
]  # fmt: skip

SERVICE_KINDS = {1: "north_marker", 2: "sector_crossing"}
SERVICE_CODES = {"north_marker": 1, "sector_crossing": 2}


@dataclass(frozen=True, slots=True)
class PlotColumns:
    """The CAT048 reports of one datagram, in order, one entry per report in each (N,) column;
    NaN marks a field a report did not carry."""

    sac: NDArray[np.uint8]
    sic: NDArray[np.uint8]
    tod_s: NDArray[np.float64]
    """I048/140, seconds since UTC midnight, [0, 86400)."""
    range_m: NDArray[np.float64]
    """The SP range where present, else I048/040 RHO."""
    azimuth_rad: NDArray[np.float64]
    """I048/040 THETA, clockwise from north, [0, 2 pi)."""
    height_m: NDArray[np.float64]
    """I048/110, above the sphere (see :mod:`redcolor.sensors.geometry`)."""
    elevation_rad: NDArray[np.float64]
    """The SP elevation (sent when I048/110 cannot carry the height)."""
    range_rate_m_s: NDArray[np.float64]
    """The SP radial speed where present, else I048/120 CAL when valid (D = 0); positive
    receding."""
    simulated: NDArray[np.bool_]
    """I048/020 SIM (False where I048/020 is absent)."""

    def __len__(self) -> int:
        return int(self.sac.shape[0])


@dataclass(frozen=True, slots=True)
class ServiceMessage:
    """One CAT034 record."""

    sac: int
    sic: int
    kind: Literal["north_marker", "sector_crossing", "other"]
    """I034/000: 1 north marker, 2 sector crossing, anything else "other"."""
    tod_s: float
    """I034/030, seconds since UTC midnight; NaN if absent."""
    sector_rad: float | None
    """I034/020, clockwise from north."""
    rotation_period_s: float | None
    """I034/041."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one datagram carried: its CAT048 reports and its CAT034 messages, each in order."""

    plots: PlotColumns
    services: tuple[ServiceMessage, ...]


def tod_of_unix_s(t_unix_s: float) -> float:
    """Seconds since the UTC midnight before ``t_unix_s``, in [0, 86400) (Unix time has no leap
    seconds, so every UTC day is 86,400 of its seconds)."""
    if not math.isfinite(t_unix_s):
        raise InputError(f"time must be finite, got {t_unix_s}")
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
    rr = (
        np.full(n, np.nan)
        if range_rate_m_s is None
        else _column("range_rate_m_s", range_rate_m_s, n)
    )
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
    sp_e_raw = _sp_raw(
        "elevation", np.where(sp_el, el, 0.0), SP_ELEVATION_LSB_RAD, -(2**31), 2**31 - 1
    )
    sp_s_raw = _sp_raw(
        "radial speed", np.where(sp_rr, rr, 0.0), SP_SPEED_LSB_M_S, -(2**31), 2**31 - 1
    )
    common = {
        "tod": tod, "sac": sac_b, "sic": sic_b, "i020": 0x20 | (0x10 if simulated else 0),
        "rho": rho, "theta": theta, "h110": h110, "cal": cal120,
        "sp_r": sp_r_raw, "sp_e": sp_e_raw, "sp_s": sp_s_raw,
    }  # fmt: skip
    key = has110.astype(np.int64) | (has120.astype(np.int64) << 1) | (mask.astype(np.int64) << 2)
    layouts = np.unique(key).tolist()
    if len(layouts) == 1:  # one layout: as many records to a datagram as fit
        k = layouts[0]
        rows = _records_of_layout(bool(k & 1), bool(k & 2), k >> 2, np.arange(n), common)
        per = (max_datagram_bytes - 3) // rows.shape[1]
        return [_datablock(CAT_PLOTS, rows[i : i + per].tobytes()) for i in range(0, n, per)]
    records: list[bytes] = [b""] * n
    for k in layouts:
        idx = np.flatnonzero(key == k)
        rows = _records_of_layout(bool(k & 1), bool(k & 2), k >> 2, idx, common)
        width = rows.shape[1]
        blob = rows.tobytes()
        for j, i in enumerate(idx.tolist()):
            records[i] = blob[j * width : (j + 1) * width]
    return _pack(CAT_PLOTS, records, max_datagram_bytes)


def _datablock(cat: int, body: bytes) -> bytes:
    size = 3 + len(body)
    return bytes((cat, size >> 8, size & 0xFF)) + body


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
    for b in (
        c["sac"],
        c["sic"],
        c["tod"] >> 16,
        (c["tod"] >> 8) & 0xFF,
        c["tod"] & 0xFF,
        c["i020"],
    ):
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
            out.append(_datablock(cat, b"".join(chunk)))
            chunk, size = [], 3
        chunk.append(rec)
        size += len(rec)
    if chunk:
        out.append(_datablock(cat, b"".join(chunk)))
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
    body = bytearray(
        (
            _byte_id("sac", sac),
            _byte_id("sic", sic),
            SERVICE_CODES[kind],
            tod >> 16,
            (tod >> 8) & 0xFF,
            tod & 0xFF,
        )
    )
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
    return _datablock(CAT_SERVICE, bytes((fspec,)) + bytes(body))


# --- decoder ---------------------------------------------------------------------------------


def _joined(chunks: list[Columns]) -> PlotColumns:
    """The columns of a datagram's CAT048 blocks, in order."""
    if len(chunks) == 1:
        return PlotColumns(*chunks[0])
    if not chunks:
        chunks = [PlotLists().columns()]
    return PlotColumns(*(np.concatenate(cols) for cols in zip(*chunks, strict=True)))


def _records_034(d: bytes, p: int, end: int, out: list[ServiceMessage]) -> None:
    while p < end:
        at = [0] * 15
        p = walk_record(d, p, end, CAT_SERVICE, at, None)
        o, m = at[F034_010], at[F034_000]
        if not (o and m):
            raise AsterixError("missing_item", "CAT034 record without I034/010 or I034/000")
        t, s, w = at[F034_030], at[F034_020], at[F034_041]
        out.append(ServiceMessage(
            sac=d[o], sic=d[o + 1], kind=SERVICE_KINDS.get(d[m], "other"),  # type: ignore[arg-type]
            tod_s=read_tod(d, t) if t else math.nan,
            sector_rad=d[s] * SECTOR_RAD if s else None,
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
    plots: list[Columns] = []
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
            plots.append(read_plots(d, p + 3, p + size))
        else:
            _records_034(d, p + 3, p + size, services)
        p += size
    return Decoded(_joined(plots), tuple(services))
