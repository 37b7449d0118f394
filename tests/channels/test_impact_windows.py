"""Predicted impact windows in the feeds (issue 16): the active view and CAP ``onset``; the
HFC files are unchanged by them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources

import msgspec
import xmlschema

from redcolor.channels import cap, oref
from redcolor.channels.active import ActiveAlerts
from redcolor.geo import load_areas
from redcolor.model import LANGUAGES, AlertArea, AlertEvent

NS = {"c": cap.CAP_NS}
SCHEMA = xmlschema.XMLSchema(str(resources.files("redcolor.data") / "cap" / "CAP-v1.2.xsd"))
ID = cap.CapIdentity(sender="alerts@example.org", instance="0123456789abcdef", web="http://h/")
T0 = 1_720_000_000.0  # 12:46:40 in Israel (IDT, +03:00)
SDEROT, NIR_AM = 248, 247  # two areas of the current edition


def _event(seq, stage, areas, source=("track:3",)):
    texts = {lang: f"{lang}: {stage}" for lang in LANGUAGES}
    return AlertEvent("a-1", seq, "missiles", stage, areas, T0 + seq, T0 + 600, source, texts)


def test_active_view_and_cap_onset_take_the_latest_window():
    index = load_areas("current")
    events = [
        _event(1, "pre_alert", (AlertArea(SDEROT, 15, T0 + 95.26, T0 + 99.0),)),
        _event(2, "alert", (AlertArea(NIR_AM, 15),)),  # no window known
        _event(3, "update", (AlertArea(SDEROT, 15, T0 + 90.7, T0 + 97.0),)),  # moved earlier
    ]
    view = ActiveAlerts()
    view.apply_all(events)
    got = {a.area_id: (a.impact_earliest_unix_s, a.impact_latest_unix_s) for a in view.areas(T0)}
    assert got == {SDEROT: (T0 + 90.7, T0 + 97.0), NIR_AM: (None, None)}
    row = msgspec.json.decode(msgspec.json.encode(view.areas(T0)[0]))
    assert {"impact_earliest_unix_s", "impact_latest_unix_s"} <= row.keys()

    first, _, last = cap.cap_thread(events)
    onsets = []
    for message in (first, last):
        body = cap.cap_document(message, index.get, ID)
        SCHEMA.validate(body)
        info = ET.fromstring(body).findall("c:info", NS)[0]
        onsets.append(info.findtext("c:onset", namespaces=NS))
    assert onsets == ["2024-07-03T12:48:15+03:00", "2024-07-03T12:48:10+03:00"]  # rounded down


def test_cap_has_no_onset_where_no_area_has_a_window_and_hfc_files_ignore_windows():
    index = load_areas("current")
    bare = _event(1, "alert", (AlertArea(SDEROT, 15), AlertArea(NIR_AM, 15)))
    (message,) = cap.cap_thread([bare])
    body = cap.cap_document(message, index.get, ID)
    assert b"onset" not in body
    windowed = msgspec.structs.replace(
        bare, areas=tuple(AlertArea(a.id, 15, T0 + 30, T0 + 35) for a in bare.areas)
    )
    files = []
    for event in (bare, windowed):
        view = ActiveAlerts()
        view.apply(event)
        live = oref.live_file(view.areas(T0 + 2), lambda i: index.get(i).value, log_id="ab" * 8)
        history = oref.history_file([event], lambda i: index.get(i).value)
        files.append((live, history))
    assert files[0] == files[1] and files[0][0]
