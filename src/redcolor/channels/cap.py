"""CAP 1.2 messages (one per alert event) and their Atom index. Pure encoders: events in, bytes out.

The rules are those of OASIS CAP 1.2 (http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html),
with Google Public Alerts' publisher requirements
(https://developers.google.com/public-alerts/reference/google-cap-requirements) where they add to
them. The USA IPAWS profile is for the US systems (its EAS/WEA parameters, SAME geocodes and
``<code>IPAWSv1.0</code>`` are not sent, and redcolor does not claim it); what it shares with
the rules here, ``scope`` Public with every ``<info>`` fit for public release and an Update or
Cancel that names in ``references`` the messages it acts on, is followed:

* **One message per event, and an Update replaces.** CAP 1.2 §3.2.1 ``msgType``: an ``Update``
  "updates and supercedes the earlier message(s) identified in <references>". A receiver that
  follows the standard therefore drops what the referenced message said and keeps what the
  Update says, so an Update must carry the *whole* current state of its alert: every area still
  under it, each with its stage (an event of the log names only the areas it changes; folding
  the alert's events with :class:`redcolor.channels.active.ActiveAlerts`, the same fold the live
  file is built from, gives that state). ``references`` (§3.2.1, "sender,identifier,sent" per
  message, space-separated) lists every earlier message of the *same* alert, oldest first, as the
  NOAA example in Google's "Event changes or expiration" guide does: a receiver that missed one
  of them (the Atom index holds only the latest message of each alert) still retires it.
* **Stages.** Areas told to prepare and areas told to shelter differ in ``responseType``,
  ``urgency`` and ``certainty``, which belong to an ``<info>`` (§3.2.2), so a message has one
  ``<info>`` per language *per stage group* (§3.2.2 allows several ``<info>`` of one language).

  ==============  =======  ============  =========  ========  =========
  group           msgType  responseType  urgency    severity  certainty
  ==============  =======  ============  =========  ========  =========
  pre-alert       Alert/U  Prepare       Expected   Severe    Possible
  shelter         Alert/U  Shelter       Immediate  Extreme   Likely
  all-clear       Update   AllClear      Past       Minor     Observed
  sent in error   Cancel   AllClear      Past       Minor     Unlikely
  ==============  =======  ============  =========  ========  =========

  The first message of an alert is an ``Alert``; later ones are ``Update``. An event that
  releases some of an alert's areas (``ended`` with others still under it) is an ``Update``
  whose areas are those still under alert: the released ones are gone from it, which is how a
  replacing message says they are over. The event that releases the last areas is the
  all-clear: an ``Update`` with ``responseType`` ``AllClear`` over the areas it ends (Google's
  second way to end an event: "a new <alert> message that contains <msgType> UPDATE,
  <responseType> All Clear, and <expires> a short time in the future"). ``Cancel`` is kept for
  an alert withdrawn as sent in error (stage ``cancelled`` over the whole alert; §3.2.1 "Cancel
  the earlier message(s) identified in <references>") and carries a ``note`` saying so; a
  cancel of only some areas cannot be a CAP ``Cancel`` (that would withdraw the rest too), so it
  is an ``Update`` like a partial end, whose description says the areas were sent in error.
* **expires** (§3.2.2; required by Google) is the expected end of the whole alert as the log
  last said it for a live message. An all-clear or a cancel is shown for
  :data:`RELEASE_SHOWN_S` (one hour) after it is sent, so it is not already expired when it
  arrives; an alert the log gives no end (a manual alert open until ended by hand) has no
  ``expires`` (§3.2.2 makes it optional: "each recipient is free to set its own policy"): any
  date written would be invented, and a receiver dropping the alert at it would drop areas
  that are still under alert. Google's publisher rules want one on every message; meeting
  them would take a renewing Update from the lifecycle before each lapse, which it does not
  send yet.
* **Identifiers** (§3.2.1: unique for the sender) are ``redcolor-<instance>-<seq>``: the
  store's random log id (:meth:`redcolor.alerts.store.SQLiteEventStore.log_id`, made once
  when the store file is created) with the event's ``seq``, so a fresh store after a reset
  or another server never reuses one. The sender is configurable (``serve --cap-sender``).
* **Every info block wholly in its language** (he, en, ar, ru; §3.2.2 ``language``): the
  event name, headline, description (required by Google), instruction and each ``areaDesc``
  (the area's own name in that language) and ``senderName``; ``web`` links to the public map.
* **onset** (§3.2.2, "the expected time of the beginning of the subject event") is the
  earliest predicted impact time over the ``<info>``'s areas, where a prediction gave one (the
  event's per-area ``impact_earliest_unix_s``); none when no area of it has one (operator
  alerts). The per-area windows themselves are in the JSON event and ``/v1/alerts/active``.
* **Times** (``sent``, ``effective``, ``onset``, ``expires``; §3.3.2 dateTime, no "Z", no
  fractions) are written in the areas' local offset (``serve --time-zone``, default Asia/Jerusalem).
* **Signature** (optional, §3.3.2.1: "an enveloped digital signature ... as the last child of
  the <alert>"): :class:`CapSigner` signs every message with XML-DSig (signxml; exclusive
  canonicalization, so the signature still verifies when the message is embedded in the Atom
  index), the certificate included in ``KeyInfo`` and published beside the feed.
* An exercise (``status`` ``exercise`` or the ``drill`` category) has ``<status>Exercise</status>``
  (never ``Actual``), a ``note`` saying so, and the EXERCISE mark of its language at the head of
  every headline.

Each area becomes one ``<area>`` with its polygon (``lat,lon`` pairs, closed, at least four) and
a ``geocode`` carrying the area id. The Atom index follows OASIS "Example Practices: CAP Feeds":
one entry per alert, its latest message (the one that supersedes the others), newest first, at
most :data:`ATOM_ENTRIES`, linking to the message and embedding it in the entry's
``content`` (type ``application/cap+xml``, an XML media type, so RFC 4287 §4.1.3.3 puts the
``<alert>`` inline as the content's child element, where CAP feed readers such as capparselib
look for it).
"""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redcolor.alerts.instructions import (
    EXERCISE_MARK,
    SENT_IN_ERROR,
    instructions_for,
    marked_exercise,
)
from redcolor.channels.active import ActiveAlerts, ActiveArea
from redcolor.channels.oref import TITLE_HE
from redcolor.errors import InputError
from redcolor.model import LANGUAGES, RELEASES, AlertArea, AlertEvent, is_exercise

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
DEFAULT_SENDER = "redcolor@localhost"
DEFAULT_TIME_ZONE = "Asia/Jerusalem"
RELEASE_SHOWN_S = 3600.0
"""How long after it is sent an all-clear or a cancel stays in effect (its ``expires``): long
enough for every poller to see it, short enough that aggregators drop it the same hour."""
ATOM_ENTRIES = 100
"""The Atom index lists the latest message of the newest alerts, this many alerts at most."""
ATOM_INLINE_BYTES = 800_000
"""How much CAP the Atom index embeds: Google Public Alerts wants a feed ideally under 100 KB and
never over 900 KB ("Feed formats"), and one message of a wide barrage (a hundred areas with
their polygons, in four languages) is some 400 KB; the messages past this budget are linked
from ``content``'s ``src`` instead of embedded."""

_GROUPS = {
    # group: (responseType, urgency, severity, certainty)
    "pre_alert": ("Prepare", "Expected", "Severe", "Possible"),
    "shelter": ("Shelter", "Immediate", "Extreme", "Likely"),
    "ended": ("AllClear", "Past", "Minor", "Observed"),
    "cancelled": ("AllClear", "Past", "Minor", "Unlikely"),
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
# The event names in each language (Hebrew: the titles the public feed shows).
_EVENT: dict[str, dict[str, str]] = {
    "missiles": {
        "en": "Rocket and missile fire",
        "ar": "إطلاق صواريخ وقذائف",
        "ru": "Ракетный обстрел",
    },
    "hostile_aircraft": {
        "en": "Hostile aircraft intrusion",
        "ar": "تسلل طائرة معادية",
        "ru": "Проникновение вражеского летательного аппарата",
    },
    "infiltration": {
        "en": "Terrorist infiltration",
        "ar": "تسلل مخربين",
        "ru": "Проникновение террористов",
    },
    "pre_alert": {
        "en": "Alerts expected soon",
        "ar": "من المتوقع صدور إنذارات قريبا",
        "ru": "Ожидаются тревоги",
    },
    "earthquake": {"en": "Earthquake", "ar": "هزة أرضية", "ru": "Землетрясение"},
    "tsunami": {"en": "Tsunami", "ar": "تسونامي", "ru": "Цунами"},
    "radiological": {"en": "Radiological event", "ar": "حدث إشعاعي", "ru": "Радиационное событие"},
    "hazmat": {"en": "Hazardous materials", "ar": "مواد خطرة", "ru": "Опасные вещества"},
    "general": {"en": "Alert", "ar": "إنذار", "ru": "Тревога"},
    "all_clear": {"en": "Event ended", "ar": "انتهى الحدث", "ru": "Событие завершено"},
    "drill": {"en": "Drill", "ar": "تمرين", "ru": "Учения"},
}
for _kind, _names in _EVENT.items():
    _names["he"] = TITLE_HE[_kind]
# What each stage group says, per language: the headline's second half and the description's
# lead, followed there by the areas' names.
_GROUP_TEXT: dict[str, dict[str, tuple[str, str]]] = {
    "pre_alert": {
        "he": ("צפויות התרעות", "צפויות התרעות בדקות הקרובות באזורים:"),
        "en": ("alerts expected", "Alerts are expected in the coming minutes in:"),
        "ar": ("إنذارات متوقعة", "من المتوقع صدور إنذارات خلال الدقائق القادمة في:"),
        "ru": ("ожидаются тревоги", "В ближайшие минуты ожидаются тревоги в районах:"),
    },
    "shelter": {
        "he": ("היכנסו למרחב המוגן", "יש להיכנס למרחב המוגן עכשיו באזורים:"),
        "en": ("take shelter now", "Take shelter now in:"),
        "ar": ("ادخلوا إلى المكان المحمي", "يجب الدخول إلى المكان المحمي الآن في:"),
        "ru": ("немедленно в укрытие", "Немедленно войдите в защищённое помещение в районах:"),
    },
    "ended": {
        "he": ("האירוע הסתיים", "האירוע הסתיים באזורים:"),
        "en": ("all clear", "The event is over in:"),
        "ar": ("انتهى الحدث", "انتهى الحدث في:"),
        "ru": ("отбой", "Событие завершено в районах:"),
    },
    "cancelled": {
        "he": ("ההתרעה נשלחה בטעות", "ההתרעה נשלחה בטעות ובוטלה באזורים:"),
        "en": ("sent in error", "The alert was sent in error and is withdrawn in:"),
        "ar": ("أرسل الإنذار عن طريق الخطأ", "أُرسل الإنذار عن طريق الخطأ وأُلغي في:"),
        "ru": ("отправлено по ошибке", "Тревога отправлена по ошибке и отменена в районах:"),
    },
}
# The description's sentence for areas released by a partial end (the message still lists the
# others, under alert).
_RELEASED_TEXT = {
    "he": "האירוע הסתיים באזורים:",
    "en": "The event is over in:",
    "ar": "انتهى الحدث في:",
    "ru": "Событие завершено в районах:",
}
_SENDER_NAME = {
    "he": "רדקולור",
    "en": "redcolor",
    "ar": "ريدكولور",
    "ru": "редколор",
}
# A point-only area is published as a circle of this radius (an assumption: the typical size of
# an alert area whose polygon no source gives).
_FALLBACK_RADIUS_KM = 1.5


def check_sender(sender: str) -> str:
    """``sender`` if CAP 1.2 §3.2.1 allows it (no spaces, commas or restricted characters
    ``<`` ``&``, printable ASCII), else InputError."""
    ok = bool(sender) and sender.isascii() and sender.isprintable()
    if not ok or any(c in sender for c in " ,<&"):
        raise InputError(f"bad CAP sender {sender[:80]!r}: no spaces, commas, '<' or '&'")
    return sender


def check_time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Asia/Jerusalem``), else InputError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name[:80]!r}: expected an IANA name") from exc


class CapArea(Protocol):
    """What CAP needs of an alert area (``redcolor.geo`` areas have it): names in every language,
    a point and a shapely (Multi)Polygon in WGS84 (x = lon), or None."""

    @property
    def id(self) -> int: ...
    @property
    def name_he(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def name_ar(self) -> str: ...
    @property
    def name_ru(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def polygon(self) -> Any: ...


AreaLookup = Callable[[int], CapArea]


_DEFAULT_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


@dataclass(frozen=True, slots=True)
class CapIdentity:
    """Who sends the messages and where they point: the CAP ``sender`` (no spaces or commas),
    the store's log id (``instance``, part of every identifier), the public map URL (``web``)
    and the time zone the times are written in."""

    sender: str = DEFAULT_SENDER
    instance: str = "0" * 16
    web: str = "http://127.0.0.1:8080/"
    time_zone: tzinfo = _DEFAULT_ZONE

    def identifier(self, seq: int) -> str:
        return f"redcolor-{self.instance}-{seq}"

    def atom_id(self, seq: int) -> str:
        """The Atom entry id of message ``seq``: a name-based UUID (RFC 4122) of its sender and
        identifier, so it is as unique as they are and a valid URN."""
        name = f"{self.sender},{self.identifier(seq)}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:redcolor:cap:{name}')}"

    def time(self, t_unix_s: float, *, up: bool = False) -> str:
        """CAP dateTime in the local offset, ``YYYY-MM-DDThh:mm:ss+02:00`` (§3.3.2 forbids
        ``Z`` and fractions): the second rounded down, or with ``up`` rounded up (an
        ``expires``, so that no receiver lets an alert lapse before its end)."""
        second = math.ceil(t_unix_s) if up else math.floor(t_unix_s)
        return datetime.fromtimestamp(second, tz=self.time_zone).isoformat()

    def reference(self, event: AlertEvent) -> str:
        return f"{self.sender},{self.identifier(event.seq)},{self.time(event.issued_at_unix_s)}"


@dataclass(frozen=True, slots=True)
class CapMessage:
    """What one CAP message says: the ``event`` it reports; ``areas``, every area of the alert
    still under it after the event (with its stage); ``released``, the areas the event ends or
    withdraws; ``expires_unix_s``, the alert's expected end as the log last said it; and
    ``previous``, the alert's earlier events (its earlier messages), oldest first."""

    event: AlertEvent
    areas: tuple[ActiveArea, ...]
    released: tuple[AlertArea, ...]
    expires_unix_s: float | None
    previous: tuple[AlertEvent, ...]

    @property
    def msg_type(self) -> str:
        if self.event.stage == "cancelled" and not self.areas and self.previous:
            return "Cancel"
        return "Update" if self.previous else "Alert"

    @property
    def all_clear(self) -> bool:
        """The message ends the alert: nothing is left under it."""
        return self.event.stage in RELEASES and not self.areas


def cap_thread(events: Sequence[AlertEvent]) -> list[CapMessage]:
    """The CAP message of each event of one alert (``events`` of one ``id``, in ``seq`` order).

    The alert's state is folded by :class:`ActiveAlerts` (so a message holds exactly the areas
    the active view, and so the live file, holds for that alert), read after each event.
    """
    view = ActiveAlerts()
    out: list[CapMessage] = []
    for n, event in enumerate(events):
        before = {a.area_id: a for a in view.alert_areas(event.id)}
        view.apply(event)
        after = tuple(view.alert_areas(event.id))
        released: tuple[AlertArea, ...] = ()
        if event.stage in RELEASES:
            named = event.areas or tuple(AlertArea(a.area_id, a.shelter_s) for a in before.values())
            released = tuple(a for a in named if a.id not in {x.area_id for x in after})
        expires = view.alert_expires(event.id) if after else event.expires_at_unix_s
        out.append(CapMessage(event, after, released, expires, tuple(events[:n])))
    return out


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


def _name(area: CapArea, lang: str) -> str:
    name: str = getattr(area, f"name_{lang}")
    return name or area.name_en


def _groups(message: CapMessage) -> list[tuple[str, list[AlertArea], Mapping[str, str]]]:
    """(group, areas, instruction texts) of each ``<info>`` set of the message, most urgent
    first. Areas under alert keep their stage; the all-clear or cancel is over the released
    areas. A group whose stage is the event's own takes the event's instructions (an operator's
    words); the others take the prepared text of their stage."""
    event = message.event
    exercise = is_exercise(event)

    def texts(stage: str) -> Mapping[str, str]:
        if stage == event.stage or (stage == "alert" and event.stage == "update"):
            return event.instructions
        prepared = instructions_for(event.category, stage)  # type: ignore[arg-type]
        return marked_exercise(prepared) if exercise else prepared

    if message.all_clear:
        group = "cancelled" if event.stage == "cancelled" else "ended"
        return [(group, list(message.released), event.instructions)]
    areas = [
        (
            a.stage,
            AlertArea(a.area_id, a.shelter_s, a.impact_earliest_unix_s, a.impact_latest_unix_s),
        )
        for a in message.areas
    ]
    shelter = [area for stage, area in areas if stage != "pre_alert"]
    prepare = [area for stage, area in areas if stage == "pre_alert"]
    out: list[tuple[str, list[AlertArea], Mapping[str, str]]] = []
    if shelter:
        out.append(("shelter", shelter, texts("alert")))
    if prepare:
        out.append(("pre_alert", prepare, texts("pre_alert")))
    return out


def cap_document(message: CapMessage, area_lookup: AreaLookup, identity: CapIdentity) -> bytes:
    """One CAP 1.2 ``<alert>`` for ``message`` (UTF-8 XML with declaration).

    ``area_lookup`` maps an area id to its :class:`CapArea`; ``identity`` says who sends it.
    """
    event = message.event
    sent = identity.time(event.issued_at_unix_s)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", identity.identifier(event.seq))
    _sub(alert, "sender", identity.sender)
    _sub(alert, "sent", sent)
    exercise = is_exercise(event)
    _sub(alert, "status", "Exercise" if exercise else "Actual")
    msg_type = message.msg_type
    _sub(alert, "msgType", msg_type)
    _sub(alert, "source", " ".join(event.source) or "redcolor")
    _sub(alert, "scope", "Public")
    notes = [EXERCISE_NOTE] if exercise else []
    if msg_type == "Cancel":
        notes.append(CANCEL_NOTE)
    if notes:
        _sub(alert, "note", " ".join(notes))
    if message.previous:
        _sub(alert, "references", " ".join(identity.reference(p) for p in message.previous))
    _sub(alert, "incidents", event.id)
    if message.all_clear:
        expires: float | None = event.issued_at_unix_s + RELEASE_SHOWN_S
    else:
        expires = message.expires_unix_s
    released_in_error = event.stage == "cancelled"
    for lang in LANGUAGES:
        for group, areas, texts in _groups(message):
            response, urgency, severity, certainty = _GROUPS[group]
            places = [area_lookup(a.id) for a in areas]
            info = _sub(alert, "info")
            _sub(info, "language", lang)
            _sub(info, "category", _CAP_CATEGORY[event.category])
            event_name = _EVENT[event.category][lang]
            _sub(info, "event", event_name)
            _sub(info, "responseType", response)
            _sub(info, "urgency", urgency)
            _sub(info, "severity", severity)
            _sub(info, "certainty", certainty)
            _sub(info, "effective", sent)
            onsets = [
                a.impact_earliest_unix_s for a in areas if a.impact_earliest_unix_s is not None
            ]
            if onsets:
                _sub(info, "onset", identity.time(min(onsets)))
            if expires is not None:
                _sub(info, "expires", identity.time(expires, up=True))
            _sub(info, "senderName", _SENDER_NAME[lang])
            short, lead = _GROUP_TEXT[group][lang]
            headline = f"{event_name}: {short}"
            if exercise:
                headline = f"{EXERCISE_MARK[lang]} - {headline}"
            _sub(info, "headline", headline)
            description = f"{lead} {', '.join(_name(p, lang) for p in places)}."
            if message.released and not message.all_clear:
                ended = ", ".join(_name(area_lookup(a.id), lang) for a in message.released)
                said = _GROUP_TEXT["cancelled"][lang][1] if released_in_error else None
                description += f" {said or _RELEASED_TEXT[lang]} {ended}."
            _sub(info, "description", description)
            text = texts.get(lang) or (SENT_IN_ERROR[lang] if released_in_error else "")
            if text:
                _sub(info, "instruction", text)
            _sub(info, "web", identity.web)
            for alert_area, area in zip(areas, places, strict=True):
                el = _sub(info, "area")
                _sub(el, "areaDesc", _name(area, lang))
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
    return bytes(
        ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)
    )


class CapSigner:
    """Signs CAP messages (enveloped XML-DSig, CAP 1.2 §3.3.2.1) with a PEM private key (RSA or
    EC) and its PEM certificate; InputError, at construction, for a key or certificate that
    cannot be read or a key that is not the certificate's."""

    def __init__(self, key_pem: bytes, cert_pem: bytes) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
            cert = x509.load_pem_x509_certificate(cert_pem)
        except (ValueError, TypeError) as exc:
            raise InputError(f"bad CAP signing key or certificate: {exc}") from exc
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if key.public_key().public_bytes(der, public) != cert.public_key().public_bytes(
            der, public
        ):
            raise InputError("the CAP signing key is not the key of the CAP signing certificate")
        if isinstance(key, rsa.RSAPrivateKey):
            self._algorithm = "rsa-sha256"
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self._algorithm = "ecdsa-sha256"
        else:
            raise InputError("the CAP signing key must be an RSA or EC key")
        self._key = key
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, document: bytes) -> bytes:
        """``document`` with its ``<Signature>`` as the last child of ``<alert>``."""
        from lxml import etree
        from signxml import CanonicalizationMethod, SignatureMethod, XMLSigner

        method = {"rsa-sha256": SignatureMethod.RSA_SHA256}.get(
            self._algorithm, SignatureMethod.ECDSA_SHA256
        )
        signer = XMLSigner(
            signature_algorithm=method,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        root = etree.fromstring(document, etree.XMLParser(resolve_entities=False))
        signed = signer.sign(root, key=self._key, cert=self.cert_pem.decode())
        return bytes(etree.tostring(signed, encoding="utf-8", xml_declaration=True))


def entry_title(message: CapMessage) -> str:
    """The Atom entry title: the English event name, what the message does, how many areas."""
    event = message.event
    count = len(message.released) if message.all_clear else len(message.areas)
    what = {"Cancel": "sent in error", "Alert": event.stage.replace("_", " ")}.get(
        message.msg_type, "all clear" if message.all_clear else "update"
    )
    title = f"{_EVENT[event.category]['en']}: {what} ({count} areas)"
    return f"EXERCISE - {title}" if is_exercise(event) else title


def atom_feed(
    entries_newest_first: Iterable[tuple[CapMessage, bytes]],
    *,
    base_url: str,
    identity: CapIdentity,
    updated_unix_s: float,
    inline_bytes: int = ATOM_INLINE_BYTES,
) -> bytes:
    """An Atom 1.0 feed of CAP messages, each ``(message, its CAP document)``, newest first.

    ``base_url`` is the server's root (``http://host:port``); entries link to ``/cap/<seq>.xml``
    and embed the document (without its XML declaration) in ``content``, newest first while the
    embedded documents stay within ``inline_bytes`` (beyond, ``content`` points at the
    message's URL: RFC 4287 §4.1.3.2 out-of-line content). The documents go in
    as the bytes served at their URLs (with their own default namespace declaration), so the
    embedded copy is the very message, signature and all.
    """
    marker = f"cap-{uuid.uuid4().hex}-"
    documents: list[bytes] = []
    inlined = 0

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, tag, attrs)
        if text is not None:
            el.text = text
        return el

    # Unqualified names under a root declaring the Atom namespace as the default: ElementTree's
    # default_namespace cannot serialize Atom's unqualified attributes (rel, href, type).
    feed = ET.Element("feed", xmlns=ATOM_NS)
    sub(feed, "id", f"{base_url}/cap/feed.atom")
    sub(feed, "title", "redcolor CAP alerts")
    sub(feed, "updated", identity.time(updated_unix_s))
    author = sub(feed, "author")
    sub(author, "name", "redcolor")
    sub(feed, "link", rel="self", href=f"{base_url}/cap/feed.atom")
    for message, document in entries_newest_first:
        event = message.event
        entry = sub(feed, "entry")
        sub(entry, "id", identity.atom_id(event.seq))
        sub(entry, "title", entry_title(message))
        sub(entry, "updated", identity.time(event.issued_at_unix_s))
        href = f"{base_url}/cap/{event.seq}.xml"
        sub(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=href)
        sub(entry, "summary", f"{message.msg_type} {identity.identifier(event.seq)} ({event.id})")
        declared = document.startswith(b"<?xml")
        inline = document.split(b"?>", 1)[1].lstrip() if declared else document
        if inlined + len(inline) <= inline_bytes:
            inlined += len(inline)
            sub(entry, "content", marker, type=CAP_MEDIA_TYPE)
            documents.append(inline)
        else:  # RFC 4287 4.1.3.2: out-of-line content, the message at its URL
            sub(entry, "content", type=CAP_MEDIA_TYPE, src=href)
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    head, *rest = body.split(marker.encode())
    return b"".join([head, *(d + tail for d, tail in zip(documents, rest, strict=True))])
