"""CAP 1.2 messages by the standard's rules (validated against the bundled OASIS schema): an
Update replaces, so it carries its alert's whole state; the all-clear, the cancel, the
languages, the local times, the identifiers and the Atom index that embeds the messages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import xmlschema
from shapely.geometry import MultiPolygon, box

from redcolor.alerts.instructions import EXERCISE_MARK, SENT_IN_ERROR
from redcolor.channels import cap
from redcolor.errors import InputError
from redcolor.model import CATEGORIES, LANGUAGES, STAGES, AlertArea, AlertEvent

NS = {"c": cap.CAP_NS, "a": cap.ATOM_NS}
SCHEMA = xmlschema.XMLSchema(str(resources.files("redcolor.data") / "cap" / "CAP-v1.2.xsd"))
ID = cap.CapIdentity(sender="alerts@example.org", instance="0123456789abcdef", web="http://h/")
T0 = 1_720_000_000.0  # 2024-07-03 09:46:40 UTC, 12:46:40 in Israel (IDT, +03:00)
SCRIPT = {"he": "[\u0590-\u05ff]", "ar": "[\u0600-\u06ff]", "ru": "[\u0400-\u04ff]", "en": "[a-z]"}


@dataclass(frozen=True)
class _Area:
    id: int
    name_he: str
    name_en: str
    name_ar: str
    name_ru: str
    lat: float
    lon: float
    polygon: Any


AREAS = {
    1: _Area(1, "אחת", "One", "واحد", "Один", 33.0, 35.4, box(35.39, 32.99, 35.41, 33.01)),
    2: _Area(
        2,
        "שתיים",
        "Two",
        "اثنان",
        "Два",
        33.1,
        35.5,
        MultiPolygon([box(35.5, 33.1, 35.51, 33.11), box(35.52, 33.1, 35.53, 33.11)]),
    ),
    3: _Area(3, "שלוש", "Three", "ثلاثة", "Три", 33.2, 35.6, None),
}


class _Log:
    """Events of one alert as the store numbers them (the lifecycle names only changed areas)."""

    def __init__(self, alert_id: str = "a-1", category: str = "missiles") -> None:
        self.alert_id, self.category = alert_id, category
        self.events: list[AlertEvent] = []

    def add(self, stage, areas, *, seq=None, dt_s=10.0, expires_s=600.0, status="actual"):
        t = T0 + dt_s * len(self.events)
        seq = seq if seq is not None else len(self.events) + 1
        texts = {lang: f"{lang}: {stage} text" for lang in LANGUAGES}
        event = AlertEvent(
            self.alert_id,
            seq,
            self.category,
            stage,
            tuple(AlertArea(a, 15) for a in areas),
            t,
            None if expires_s is None else t + expires_s,
            ("track:3",),
            texts,
            (self.events[-1].seq,) if self.events else (),
            status,
        )
        self.events.append(event)
        return event

    def messages(self) -> list[cap.CapMessage]:
        return cap.cap_thread(self.events)


def _doc(message: cap.CapMessage, identity: cap.CapIdentity = ID) -> ET.Element:
    body = cap.cap_document(message, AREAS.__getitem__, identity)
    SCHEMA.validate(body)
    return ET.fromstring(body)


def _held(root: ET.Element, lang: str = "en") -> dict[int, str]:
    """Area id -> responseType, over the message's infos of one language."""
    out = {}
    for info in root.findall("c:info", NS):
        if info.findtext("c:language", namespaces=NS) != lang:
            continue
        response = info.findtext("c:responseType", namespaces=NS)
        for area in info.findall("c:area", NS):
            area_id = int(
                area.findtext("c:geocode[c:valueName='redcolor-area-id']/c:value", None, NS)
            )
            out[area_id] = response
    return out


def _refs(root: ET.Element) -> list[str]:
    return (root.findtext("c:references", "", NS)).split()


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_stage_and_category_gives_a_valid_cap_message(stage, category) -> None:
    log = _Log(category=category)
    log.add("alert", [1, 2, 3])
    log.add(stage, [1, 2, 3])
    first, second = (_doc(m) for m in log.messages())
    assert first.findtext("c:msgType", namespaces=NS) == "Alert"
    assert second.findtext("c:msgType", namespaces=NS) in ("Update", "Cancel")
    text = ET.tostring(second, encoding="unicode")
    assert text.count("<ns0:polygon>") + text.count("<polygon>") == 4 * 3  # 4 languages
    assert _refs(second) == [
        "alerts@example.org,redcolor-0123456789abcdef-1,2024-07-03T12:46:40+03:00"
    ]


def test_an_update_carries_every_area_still_under_the_alert() -> None:
    """The lifecycle's update names only the areas it adds; the CAP Update replaces the Alert,
    so it must list the earlier areas too, each with its stage."""
    log = _Log()
    log.add("pre_alert", [1, 2])
    log.add("alert", [1])  # area 1 raised to shelter, area 2 still told to prepare
    log.add("update", [3])  # a further area joins
    alert, raised, joined = (_doc(m) for m in log.messages())
    assert alert.findtext("c:msgType", namespaces=NS) == "Alert"
    assert _held(alert) == {1: "Prepare", 2: "Prepare"}
    assert raised.findtext("c:msgType", namespaces=NS) == "Update"
    assert _held(raised) == {1: "Shelter", 2: "Prepare"}
    assert _held(joined) == {1: "Shelter", 2: "Prepare", 3: "Shelter"}
    # every earlier message of the alert, oldest first, and nothing else
    assert [r.split(",")[1] for r in _refs(joined)] == [ID.identifier(1), ID.identifier(2)]
    # one info per language per stage group, urgency and certainty by group
    infos = joined.findall("c:info", NS)
    assert [i.findtext("c:language", namespaces=NS) for i in infos] == [
        lang for lang in LANGUAGES for _ in range(2)
    ]
    urgencies = {i.findtext("c:urgency", namespaces=NS) for i in infos}
    assert urgencies == {"Immediate", "Expected"}


def test_a_partial_end_lists_the_rest_and_the_last_end_is_an_all_clear_update() -> None:
    log = _Log()
    log.add("alert", [1, 2, 3])
    log.add("ended", [1])
    log.add("ended", [2, 3])
    _, partial, last = (_doc(m) for m in log.messages())
    assert partial.findtext("c:msgType", namespaces=NS) == "Update"
    assert _held(partial) == {2: "Shelter", 3: "Shelter"}
    assert "One" in partial.findtext(
        "c:info[c:language='en']/c:description", namespaces=NS
    )  # says what ended
    assert last.findtext("c:msgType", namespaces=NS) == "Update"
    assert _held(last) == {2: "AllClear", 3: "AllClear"}
    assert last.find("c:note", NS) is None
    for info in last.findall("c:info", NS):
        assert info.findtext("c:urgency", namespaces=NS) == "Past"
        sent = datetime.fromisoformat(last.findtext("c:sent", namespaces=NS))
        expires = datetime.fromisoformat(info.findtext("c:expires", namespaces=NS))
        assert (expires - sent).total_seconds() == cap.RELEASE_SHOWN_S  # not expired on arrival
    assert len(_refs(last)) == 2


def test_an_end_naming_no_area_clears_every_area_of_the_alert() -> None:
    log = _Log()
    log.add("alert", [1, 3])
    log.add("ended", [])
    assert _held(_doc(log.messages()[-1])) == {1: "AllClear", 3: "AllClear"}


def test_cancel_withdraws_the_alert_and_a_partial_cancel_is_an_update() -> None:
    log = _Log()
    log.add("alert", [1, 2])
    log.add("update", [3])
    log.add("cancelled", [1, 2, 3])
    cancel = _doc(log.messages()[-1])
    assert cancel.findtext("c:msgType", namespaces=NS) == "Cancel"
    assert cancel.findtext("c:note", namespaces=NS) == cap.CANCEL_NOTE
    assert len(_refs(cancel)) == 2
    assert {i.findtext("c:certainty", namespaces=NS) for i in cancel.findall("c:info", NS)} == {
        "Unlikely"
    }
    instructions = {
        i.findtext("c:language", namespaces=NS): i.findtext("c:instruction", namespaces=NS)
        for i in cancel.findall("c:info", NS)
    }
    assert instructions == {lang: f"{lang}: cancelled text" for lang in LANGUAGES}
    # a cancel of some areas only: a Cancel would withdraw the rest too, so it is an Update
    some = _Log()
    some.add("alert", [1, 2])
    some.add("cancelled", [1])
    partial = _doc(some.messages()[-1])
    assert partial.findtext("c:msgType", namespaces=NS) == "Update"
    assert _held(partial) == {2: "Shelter"}
    assert "sent in error" in partial.findtext(
        "c:info[c:language='en']/c:description", namespaces=NS
    )


def test_every_info_is_wholly_in_its_language_and_links_to_the_map() -> None:
    log = _Log()
    log.add("alert", [1, 2, 3])
    root = _doc(log.messages()[0])
    infos = root.findall("c:info", NS)
    assert [i.findtext("c:language", namespaces=NS) for i in infos] == list(LANGUAGES)
    for info in infos:
        lang = info.findtext("c:language", namespaces=NS)
        for tag in ("event", "headline", "description", "senderName"):
            text = info.findtext(f"c:{tag}", namespaces=NS)
            assert text and re.search(SCRIPT[lang], text), (lang, tag, text)
        assert info.findtext("c:instruction", namespaces=NS) == f"{lang}: alert text"
        names = [a.findtext("c:areaDesc", namespaces=NS) for a in info.findall("c:area", NS)]
        assert names == [getattr(AREAS[i], f"name_{lang}") for i in (1, 2, 3)]
        assert info.findtext("c:web", namespaces=NS) == "http://h/"


def test_times_are_in_the_configured_local_offset() -> None:
    log = _Log()
    log.add("alert", [1])
    message = log.messages()[0]
    assert _doc(message).findtext("c:sent", namespaces=NS) == "2024-07-03T12:46:40+03:00"
    utc = cap.CapIdentity(instance=ID.instance, time_zone=ZoneInfo("UTC"))
    root = _doc(message, utc)
    assert root.findtext("c:sent", namespaces=NS) == "2024-07-03T09:46:40+00:00"
    assert root.findtext("c:info/c:expires", namespaces=NS) == "2024-07-03T09:56:40+00:00"
    winter = cap.CapIdentity(instance=ID.instance)
    assert winter.time(1_704_520_800.0) == "2024-01-06T08:00:00+02:00"  # IST
    # no fractions in CAP: sent rounds down, expires up (an alert never lapses early)
    assert winter.time(1_704_520_800.2) == "2024-01-06T08:00:00+02:00"
    assert winter.time(1_704_520_800.2, up=True) == "2024-01-06T08:00:01+02:00"
    late = _Log()
    late.add("alert", [1], expires_s=600.4)
    expires = _doc(late.messages()[0]).findtext("c:info/c:expires", namespaces=NS)
    assert expires == "2024-07-03T12:56:41+03:00"


def test_identifiers_and_atom_ids_differ_between_logs() -> None:
    other = cap.CapIdentity(sender=ID.sender, instance="fedcba9876543210")
    assert ID.identifier(7) != other.identifier(7)
    assert ID.atom_id(7) != other.atom_id(7) and ID.atom_id(7) != ID.atom_id(8)
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", ID.atom_id(7))
    assert ID.atom_id(7) == cap.CapIdentity(sender=ID.sender, instance=ID.instance).atom_id(7)


def test_a_message_without_an_end_has_no_expires() -> None:
    log = _Log()
    log.add("alert", [1], expires_s=None)
    assert _doc(log.messages()[0]).find("c:info/c:expires", NS) is None


@pytest.mark.parametrize("stage", STAGES)
def test_an_exercise_is_never_actual(stage) -> None:
    log = _Log()
    log.add("alert", [1], status="exercise")
    log.add(stage, [1], status="exercise")
    root = _doc(log.messages()[-1])
    assert root.findtext("c:status", namespaces=NS) == "Exercise"
    assert cap.EXERCISE_NOTE in root.findtext("c:note", namespaces=NS)
    for info in root.findall("c:info", NS):
        lang = info.findtext("c:language", namespaces=NS)
        assert info.findtext("c:headline", namespaces=NS).startswith(EXERCISE_MARK[lang])
    message = log.messages()[-1]
    entry = (message, cap.cap_document(message, AREAS.__getitem__, ID))
    feed = ET.fromstring(
        cap.atom_feed([entry], base_url="http://h", identity=ID, updated_unix_s=T0)
    )
    assert feed.findtext("a:entry/a:title", namespaces=NS).startswith("EXERCISE")
    real = _Log()
    real.add("alert", [1])
    real.add(stage, [1])
    root = _doc(real.messages()[-1])
    assert root.findtext("c:status", namespaces=NS) == "Actual"
    assert stage == "cancelled" or root.find("c:note", NS) is None


def test_the_atom_index_embeds_each_message_as_served() -> None:
    log = _Log()
    log.add("alert", [1, 2])
    log.add("update", [3])
    entries = [(m, cap.cap_document(m, AREAS.__getitem__, ID)) for m in log.messages()[::-1]]
    body = cap.atom_feed(entries, base_url="http://h", identity=ID, updated_unix_s=T0 + 10)
    feed = ET.fromstring(body)
    got = feed.findall("a:entry", NS)
    assert len(got) == 2
    for entry, (message, document) in zip(got, entries, strict=True):
        assert entry.findtext("a:id", namespaces=NS) == ID.atom_id(message.event.seq)
        link = entry.find("a:link", NS)
        assert link.get("type") == "application/cap+xml"
        assert link.get("href") == f"http://h/cap/{message.event.seq}.xml"
        content = entry.find("a:content", NS)
        assert content.get("type") == "application/cap+xml"
        (alert,) = list(content)  # RFC 4287 4.1.3.3: the XML inline, one child element
        assert alert.tag == f"{{{cap.CAP_NS}}}alert"
        embedded = ET.tostring(alert, encoding="utf-8", default_namespace=cap.CAP_NS)
        SCHEMA.validate(embedded)
        assert ET.canonicalize(embedded) == ET.canonicalize(document)
    assert document.split(b"?>", 1)[1].strip() in body  # the very bytes served at the link


@pytest.mark.parametrize("sender", ["", "a b", "a,b", "a<b", "a&b", "x\n"])
def test_a_bad_sender_or_time_zone_is_refused(sender) -> None:
    with pytest.raises(InputError, match="CAP sender"):
        cap.check_sender(sender)
    with pytest.raises(InputError, match="time zone"):
        cap.check_time_zone("Mars/Olympus")
    assert cap.check_sender("alerts@example.org") == "alerts@example.org"


def test_sent_in_error_text_is_the_cancel_instruction_when_the_event_has_none() -> None:
    log = _Log()
    log.add("alert", [1])
    cancelled = msgspec.structs.replace(log.add("cancelled", [1]), instructions={})
    log.events[-1] = cancelled
    root = _doc(log.messages()[-1])
    he = [i for i in root.findall("c:info", NS) if i.findtext("c:language", namespaces=NS) == "he"]
    assert he[0].findtext("c:instruction", namespaces=NS) == SENT_IN_ERROR["he"]


def test_messages_past_the_inline_budget_are_linked_not_embedded() -> None:
    log = _Log()
    log.add("alert", [1, 2])
    log.add("update", [3])
    entries = [(m, cap.cap_document(m, AREAS.__getitem__, ID)) for m in log.messages()[::-1]]
    first = len(entries[0][1].split(b"?>", 1)[1].lstrip())
    body = cap.atom_feed(
        entries, base_url="http://h", identity=ID, updated_unix_s=T0, inline_bytes=first
    )
    newest, older = ET.fromstring(body).findall("a:entry/a:content", NS)
    assert len(list(newest)) == 1 and newest.get("src") is None
    assert list(older) == [] and older.get("src") == "http://h/cap/1.xml"
    assert older.get("type") == "application/cap+xml"


def test_a_partial_end_s_update_expires_when_the_log_says_the_rest_ends() -> None:
    from redcolor.model import AlertArea, AlertEvent

    def ev(seq, stage, areas, t, expires):
        return AlertEvent(
            "a", seq, "missiles", stage, tuple(AlertArea(i, 30) for i in areas), t, expires, (), {}
        )

    thread = cap.cap_thread(
        [ev(1, "alert", (1, 2), 0.0, 683.3), ev(2, "ended", (1,), 358.3, 685.3)]
    )
    assert [a.area_id for a in thread[1].areas] == [2]
    assert thread[1].expires_unix_s == 685.3
