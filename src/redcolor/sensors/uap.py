"""The structure of ASTERIX CAT048 (edition 1.32) and CAT034 (edition 1.29) records: the
wire constants, every UAP item's length rule, and the walk that finds each item of a record
(and skips the ones nobody reads). The layout itself is described in :mod:`.asterix`."""

from __future__ import annotations

import math

from redcolor.errors import InputError

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
    "empty",  # a datagram of no bytes
    "too_large",  # more than UDP_MAX_PAYLOAD_BYTES
    "wrong_category",  # a datablock of another category than 34 or 48
    "bad_length",  # a datablock LEN below 3 or beyond the end of the datagram
    "truncated",  # a datablock header, record or item cut off by the end of its block
    "bad_fspec",  # an FSPEC longer than the UAP allows (flags an FRN it does not define)
    "unknown_item",  # an FSPEC bit for a subfield the UAP does not define
    "bad_item",  # an item against its own structure (extension bit, subfield, LEN 0 ...)
    "missing_item",  # a record without its mandatory items (I048/010; I034/010 and /000)
    "bad_value",  # a value outside its defined domain (time of day >= 24 h, SP layout)
)
"""Why :func:`decode` refuses a datagram (for counting)."""

# Length rules per FRN (index FRN - 1): ("fixed", n), ("fx", max octets or 0 = unlimited),
# ("rep", element bytes) with a one-octet count, ("compound", subfield rules), ("explicit",),
# a compound item's subfield rules hold None where the UAP defines no subfield.
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


# --- the walk through a record ----------------------------------------------------------------

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
TOD_END = round(DAY_S / TOD_LSB_S)
THETA_RAD = 2.0 * math.pi / 65_536.0
RHO_M = RHO_LSB_NM * NM_M
HEIGHT_M = HEIGHT_LSB_FT * FT_M
SECTOR_RAD = 2.0 * math.pi / 256.0


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


def walk_record(d: bytes, p: int, end: int, cat: int, at: list[int], dets: list | None) -> int:
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


def read_tod(d: bytes, o: int) -> float:
    """I048/140 or I034/030 at ``o``, seconds; refused if not before 24 h."""
    raw = (d[o] << 16) | (d[o + 1] << 8) | d[o + 2]
    if raw >= TOD_END:
        raise AsterixError("bad_value", f"time of day {raw * TOD_LSB_S} s is not before 24 h")
    return raw * TOD_LSB_S
