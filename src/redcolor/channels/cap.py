"""CAP 1.2 documents (one per alert event) and their Atom index. Pure encoders: event in, bytes out.

Mapping (OASIS CAP 1.2, http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html):

==========  =======  ============  =========  ==========  =========
stage       msgType  responseType  urgency    severity    certainty
==========  =======  ============  =========  ==========  =========
pre_alert   Alert    Prepare       Expected   Severe      Possible
alert       Alert    Shelter       Immediate  Extreme     Likely
update      Update   Shelter       Immediate  Extreme     Likely
ended       Update   AllClear      Past       Minor       Observed
cancelled   Cancel   AllClear      Past       Minor       Unlikely
==========  =======  ============  =========  ==========  =========

An all-clear is an ``Update`` (the threat is over) and only a false alert is a ``Cancel`` (CAP
1.2 3.2.1: "Cancel the earlier message(s) identified in <references>"), so a receiver can tell
"it is over" from "it never was"; a cancel carries a ``note`` saying the alert was sent in error.
An exercise (``status`` ``exercise`` or the ``drill`` category) has ``<status>Exercise</status>``
(never ``Actual``), a ``note`` saying so, and "EXERCISE" at the head of every headline.

``identifier`` is ``redcolor-<seq>``; ``references`` lists ``sender,identifier,sent`` of the
events in the event's ``references`` (for a cancel, the alert's previous message). Each alert
area becomes one ``<area>`` with its polygon (CAP wants ``lat,lon`` pairs, closed, at least
four) and a ``geocode`` carrying the area id.
The Atom index follows the OASIS "CAP in Atom" note: one entry per CAP document, newest first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from redcolor.model import AlertEvent, is_exercise

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
DEFAULT_SENDER = "redcolor@localhost"

_STAGE = {
    "pre_alert": ("Alert", "Prepare", "Expected", "Severe", "Possible"),
    "alert": ("Alert", "Shelter", "Immediate", "Extreme", "Likely"),
    "update": ("Update", "Shelter", "Immediate", "Extreme", "Likely"),
    "ended": ("Update", "AllClear", "Past", "Minor", "Observed"),
    "cancelled": ("Cancel", "AllClear", "Past", "Minor", "Unlikely"),
}
CANCEL_NOTE = "This alert was sent in error. There is no danger; it is withdrawn."
EXERCISE_NOTE = "EXERCISE: this message is part of an exercise and is not a real alert."
_CAP_CATEGORY = {
    "missiles": "Security",
    "hostile_aircraft": "Security",
    "infiltration": "Security",
    "pre_alert": "Security",
    "earthquake": "Geo",
    "tsunami": "Geo",
    "radiological": "CBRNE",
    "hazmat": "CBRNE",
    "general": "Safety",
    "all_clear": "Safety",
    "drill": "Other",
}
_EVENT_EN = {
    "missiles": "Rocket and missile fire",
    "hostile_aircraft": "Hostile aircraft intrusion",
    "infiltration": "Terrorist infiltration",
    "pre_alert": "Alerts expected soon",
    "earthquake": "Earthquake",
    "tsunami": "Tsunami",
    "radiological": "Radiological event",
    "hazmat": "Hazardous materials",
    "general": "Alert",
    "all_clear": "Event ended",
    "drill": "Drill",
}
# A point-only area is published as a circle of this radius (an assumption: the typical size of
# an alert area whose polygon no source gives).
_FALLBACK_RADIUS_KM = 1.5


class CapArea(Protocol):
    """What CAP needs of an alert area (``redcolor.geo`` areas have it): names, a point and a
    shapely (Multi)Polygon in WGS84 (x = lon), or None."""

    @property
    def id(self) -> int: ...
    @property
    def name_en(self) -> str: ...
    @property
    def name_he(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def polygon(self) -> Any: ...


AreaLookup = Callable[[int], CapArea]


def cap_time(t_unix_s: float) -> str:
    """CAP dateTime: ``YYYY-MM-DDThh:mm:ss+00:00`` (the schema forbids ``Z`` and fractions)."""
    return datetime.fromtimestamp(int(t_unix_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def identifier(seq: int) -> str:
    return f"redcolor-{seq}"


def _rings(polygon: Any) -> list[str]:
    """CAP polygon strings (``lat,lon`` space-separated, closed) for each exterior ring."""
    parts = list(getattr(polygon, "geoms", [polygon]))
    out = []
    for part in parts:
        coords = list(part.exterior.coords)
        if coords[0] != coords[-1]:
            coords.append(coords[0])
        if len(coords) < 4:
            continue
        out.append(" ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in coords))
    return out


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def cap_document(
    event: AlertEvent,
    area_lookup: AreaLookup,
    referenced: Sequence[AlertEvent] = (),
    *,
    sender: str = DEFAULT_SENDER,
) -> bytes:
    """One CAP 1.2 ``<alert>`` for ``event`` (UTF-8 XML with declaration).

    Parameters
    ----------
    event : AlertEvent
        A stored event (``seq`` > 0).
    area_lookup : callable
        Area id -> :class:`CapArea`.
    referenced : sequence of AlertEvent
        The stored events named by ``event.references`` (for their ``sent`` times).
    sender : str
        CAP ``sender`` (no spaces or commas).
    """
    msg_type, response, urgency, severity, certainty = _STAGE[event.stage]
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", identifier(event.seq))
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(event.issued_at_unix_s))
    exercise = is_exercise(event)
    _sub(alert, "status", "Exercise" if exercise else "Actual")
    _sub(alert, "msgType", msg_type)
    _sub(alert, "source", " ".join(event.source) or "redcolor")
    _sub(alert, "scope", "Public")
    notes = ([EXERCISE_NOTE] if exercise else []) + ([CANCEL_NOTE] if msg_type == "Cancel" else [])
    if notes:
        _sub(alert, "note", " ".join(notes))
    if referenced:
        refs = " ".join(
            f"{sender},{identifier(r.seq)},{cap_time(r.issued_at_unix_s)}" for r in referenced
        )
        _sub(alert, "references", refs)
    _sub(alert, "incidents", event.id)
    languages = [lang for lang in ("en", "he", "ar", "ru") if lang in event.instructions] or ["en"]
    for lang in languages:
        info = _sub(alert, "info")
        _sub(info, "language", lang)
        _sub(info, "category", _CAP_CATEGORY[event.category])
        _sub(info, "event", _EVENT_EN[event.category])
        _sub(info, "responseType", response)
        _sub(info, "urgency", urgency)
        _sub(info, "severity", severity)
        _sub(info, "certainty", certainty)
        _sub(info, "effective", cap_time(event.issued_at_unix_s))
        if event.expires_at_unix_s is not None:
            _sub(info, "expires", cap_time(event.expires_at_unix_s))
        _sub(info, "senderName", "redcolor")
        headline = f"{_EVENT_EN[event.category]}: {event.stage.replace('_', ' ')}"
        if exercise:
            headline = f"EXERCISE - {headline}"
        _sub(info, "headline", headline)
        if lang in event.instructions:
            _sub(info, "instruction", event.instructions[lang])
        for alert_area in event.areas:
            area = area_lookup(alert_area.id)
            el = _sub(info, "area")
            _sub(el, "areaDesc", area.name_he if lang == "he" else area.name_en)
            rings = _rings(area.polygon) if area.polygon is not None else []
            for ring in rings:
                _sub(el, "polygon", ring)
            if not rings:
                _sub(el, "circle", f"{area.lat:.5f},{area.lon:.5f} {_FALLBACK_RADIUS_KM}")
            geocode = _sub(el, "geocode")
            _sub(geocode, "valueName", "redcolor-area-id")
            _sub(geocode, "value", str(area.id))
            shelter = _sub(el, "geocode")
            _sub(shelter, "valueName", "shelter_s")
            _sub(shelter, "value", str(alert_area.shelter_s))
    ET.register_namespace("", CAP_NS)
    return bytes(ET.tostring(alert, encoding="utf-8", xml_declaration=True))


def atom_feed(
    events_newest_first: Iterable[AlertEvent], *, base_url: str, updated_unix_s: float
) -> bytes:
    """An Atom 1.0 feed indexing the CAP documents of ``events_newest_first``.

    ``base_url`` is the server's root (``http://host:port``); entries link to ``/cap/<seq>.xml``.
    """
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"{base_url}/cap/feed.atom")
    sub(feed, "title", "redcolor CAP alerts")
    sub(feed, "updated", cap_time(updated_unix_s))
    author = sub(feed, "author")
    sub(author, "name", "redcolor")
    sub(feed, "link", rel="self", href=f"{base_url}/cap/feed.atom")
    for event in events_newest_first:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:redcolor:cap:{identifier(event.seq)}")
        title = f"{_EVENT_EN[event.category]}: {event.stage} ({len(event.areas)} areas)"
        sub(entry, "title", f"EXERCISE - {title}" if is_exercise(event) else title)
        sub(entry, "updated", cap_time(event.issued_at_unix_s))
        sub(
            entry,
            "link",
            rel="alternate",
            type="application/cap+xml",
            href=f"{base_url}/cap/{event.seq}.xml",
        )
        sub(entry, "summary", f"alert {event.id}, seq {event.seq}")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
