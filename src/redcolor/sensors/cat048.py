"""Reading the CAT048 records of a datablock into plot columns: one by one (few records), or
as numpy record arrays, one per record layout (many records). Both give the same columns."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redcolor.sensors.uap import (
    CAL_LSB_M_S,
    CAT_PLOTS,
    F048_010,
    F048_020,
    F048_040,
    F048_110,
    F048_120,
    F048_140,
    F048_SP,
    HEIGHT_M,
    RHO_M,
    SP_ELEVATION,
    SP_ELEVATION_LSB_RAD,
    SP_RANGE,
    SP_RANGE_LSB_M,
    SP_SPEED,
    SP_SPEED_LSB_M_S,
    SP_TAG,
    THETA_RAD,
    TOD_END,
    TOD_LSB_S,
    AsterixError,
    read_tod,
    walk_record,
)

Columns = tuple[NDArray, ...]
"""The nine columns of :class:`redcolor.sensors.asterix.PlotColumns`, in its field order."""


class PlotLists:
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

    def columns(self) -> Columns:
        f8 = np.float64
        return (
            np.array(self.sac, dtype=np.uint8), np.array(self.sic, dtype=np.uint8),
            np.array(self.tod_s, dtype=f8), np.array(self.range_m, dtype=f8),
            np.array(self.azimuth_rad, dtype=f8), np.array(self.height_m, dtype=f8),
            np.array(self.elevation_rad, dtype=f8), np.array(self.range_rate_m_s, dtype=f8),
            np.array(self.simulated, dtype=np.bool_),
        )  # fmt: skip


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
    width = walk_record(d, p, end, CAT_PLOTS, at, dets) - p
    if not (o := at[F048_010]):
        raise AsterixError("missing_item", "CAT048 record without I048/010")
    fields: list[tuple[str, str, int]] = [("sac", "u1", o), ("sic", "u1", o + 1)]
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


def _columns_of(rec: NDArray, lay: _Layout) -> Columns:
    """The nine plot columns of records ``rec`` (of numpy record type ``lay.dtype``)."""
    m = rec.shape[0]
    names = lay.dtype.names or ()

    def nan() -> NDArray[np.float64]:
        return np.full(m, np.nan)

    tod, rng, az, h, el, rr = nan(), nan(), nan(), nan(), nan(), nan()
    if "tod_hi" in names:
        raw = (rec["tod_hi"].astype(np.int64) << 16) | rec["tod_lo"]
        if raw.max() >= TOD_END:
            raise AsterixError("bad_value", "a time of day not before 24 h")
        tod = raw * TOD_LSB_S
    if "rho" in names:
        rng = rec["rho"] * RHO_M
        az = rec["theta"] * THETA_RAD
    if "h110" in names:
        raw = rec["h110"].astype(np.int64) & 0x3FFF
        h = (raw - ((raw & 0x2000) << 1)) * HEIGHT_M
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


def read_as_columns(d: bytes, p: int, end: int) -> Columns | None:
    """The plots of the CAT048 records from ``p`` to ``end``, read as columns; None for a block
    of few records.

    When every record has the first one's layout (checked at once on a (records, width) octet
    array), the block is one numpy record array. Otherwise one pass finds each record's layout,
    and the records of each layout are gathered and read at once.
    """
    if end - p < 3 * COLUMN_MIN_RECORDS:  # a record has 3 octets at least (FSPEC, I048/010)
        return None
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
    out: Columns | None = None
    for lay in {id(k): k for k in kinds}.values():
        sel = np.flatnonzero(order == id(lay))
        rows = buf[at[sel, None] + np.arange(lay.width)]
        cols = _columns_of(rows.view(lay.dtype).reshape(-1), lay)
        if out is None:
            out = tuple(np.empty(len(starts), dtype=c.dtype) for c in cols)
        for o, c in zip(out, cols, strict=True):
            o[sel] = c
    return out


def read_plots(d: bytes, p: int, end: int) -> Columns:
    """The plots of the CAT048 records from ``p`` to ``end``: all at once if they share one
    layout, else record by record."""
    if (cols := read_as_columns(d, p, end)) is not None:
        return cols
    out = PlotLists()
    nan = math.nan
    while p < end:
        at = [0] * 29
        p = walk_record(d, p, end, CAT_PLOTS, at, None)
        o = at[F048_010]
        if not o:
            raise AsterixError("missing_item", "CAT048 record without I048/010")
        out.sac.append(d[o])
        out.sic.append(d[o + 1])
        o = at[F048_140]
        out.tod_s.append(read_tod(d, o) if o else nan)
        o = at[F048_020]
        out.simulated.append(bool(o and d[o] & 0x10))
        rng = az = h = el = rr = nan
        o = at[F048_040]
        if o:
            rng = ((d[o] << 8) | d[o + 1]) * RHO_M
            az = ((d[o + 2] << 8) | d[o + 3]) * THETA_RAD
        o = at[F048_110]
        if o:
            raw = ((d[o] << 8) | d[o + 1]) & 0x3FFF
            h = (raw - 0x4000 if raw & 0x2000 else raw) * HEIGHT_M
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
