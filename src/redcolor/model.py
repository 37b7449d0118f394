"""Shared model types: the messages that cross stage boundaries.

Wire messages are frozen ``msgspec.Struct`` so typed decoding rejects bad input. Units and
frames are in the field names, except where a public wire format fixes a short name (the
measurement feed of DESIGN.md uses ``t``, ``r``, ``az``, ``el``, ``rr``; their units are below).

Frames
------
* Radar polar frame: slant range in metres; azimuth in radians clockwise from true north at
  the radar, in [0, 2*pi); elevation in radians above the radar's local horizontal plane;
  radial (range) rate in metres per second, positive when the object recedes.
* Times are Unix seconds (UTC) as float.
"""

from __future__ import annotations

from typing import Literal

import msgspec

# --------------------------------------------------------------------------------------------
# Measurement feed (sensors -> tracking)
# --------------------------------------------------------------------------------------------


class Plot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One detection in one scan, in the radar's polar frame.

    ``r`` range in m, ``az`` azimuth in rad (clockwise from north), ``el`` elevation in rad,
    ``rr`` radial velocity in m/s when the radar measures it.
    """

    r: float
    az: float
    el: float
    rr: float | None = None


class Scan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One scan of one sensor: the measurement-feed message of DESIGN.md (``t`` in Unix s)."""

    sensor: str
    t: float
    plots: list[Plot]


class SensorRegistration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A sensor's pose and noise, declared once before its scans are accepted."""

    id: str
    lat: float
    lon: float
    alt_m: float
    scan_period_s: float
    range_sigma_m: float
    angle_sigma_mrad: float
    detection_probability: float
    false_alarms_per_scan: float
    max_range_km: float
    min_elevation_deg: float = 0.0
    range_rate_sigma_m_s: float | None = None


# --------------------------------------------------------------------------------------------
# Alert events (alerts -> bus -> channels): the public object
# --------------------------------------------------------------------------------------------

Stage = Literal["pre_alert", "alert", "update", "ended", "cancelled"]
STAGES: tuple[Stage, ...] = ("pre_alert", "alert", "update", "ended", "cancelled")
RELEASES: frozenset[str] = frozenset({"ended", "cancelled"})
"""The stages that release the areas they name: ``ended`` (the all-clear) and ``cancelled``
(the alert was sent in error)."""

Status = Literal["actual", "exercise"]
STATUSES: tuple[Status, ...] = ("actual", "exercise")

Category = Literal[
    "missiles",
    "hostile_aircraft",
    "earthquake",
    "tsunami",
    "infiltration",
    "hazmat",
    "radiological",
    "general",
    "pre_alert",
    "all_clear",
    "drill",
]
CATEGORIES: tuple[Category, ...] = (
    "missiles",
    "hostile_aircraft",
    "earthquake",
    "tsunami",
    "infiltration",
    "hazmat",
    "radiological",
    "general",
    "pre_alert",
    "all_clear",
    "drill",
)

LANGUAGES: tuple[str, ...] = ("he", "en", "ar", "ru")


class AlertArea(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """An alert area as it appears in an event: its id, its time to reach shelter and, where an
    impact prediction gave one, the predicted impact time window at the area.

    ``impact_earliest_unix_s`` / ``impact_latest_unix_s`` bound when an impact (a ballistic
    threat's ground impact, a drone's reach of the area) is predicted there; both None (left
    out of the JSON) when nothing predicted one: operator alerts, released areas, a policy
    without predictions. The window may already have begun, or passed, while the area is still
    under alert (the all-clear comes a hold time later).
    """

    id: int
    shelter_s: int
    impact_earliest_unix_s: float | None = None
    impact_latest_unix_s: float | None = None


class AlertEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One change to one alert. Never edited: every change is a new event with a new ``seq``.

    ``id`` is stable for the life of the alert; ``seq`` is global and gap-free, assigned by the
    event store when the event becomes durable (0 means "not yet stored"). ``references`` holds
    the ``seq`` of the events this one updates or ends. Clients dedupe by (``id``, ``seq``).
    ``status`` ``exercise`` marks a drill that must never be taken for a real alert (it is the
    last field, with a default, so bodies stored by older versions still decode).
    """

    id: str
    seq: int
    category: Category
    stage: Stage
    areas: tuple[AlertArea, ...]
    issued_at_unix_s: float
    expires_at_unix_s: float | None
    source: tuple[str, ...]
    instructions: dict[str, str]
    references: tuple[int, ...] = ()
    status: Status = "actual"


def is_exercise(event: AlertEvent) -> bool:
    """Whether ``event`` is an exercise: marked so, or of the ``drill`` category (a drill is
    never a real alert, whoever made it)."""
    return event.status == "exercise" or event.category == "drill"


EVENT_ENCODER = msgspec.json.Encoder()
EVENT_DECODER = msgspec.json.Decoder(AlertEvent)
