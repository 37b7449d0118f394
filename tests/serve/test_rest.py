"""REST, compatibility feeds and CAP through the real app (httpx ASGI transport, real store)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import httpx
import pytest
import xmlschema

from redcolor.channels import oref
from redcolor.serve.app import create_app
from redcolor.serve.httpproto import MAX_QUERY_BYTES
from redcolor.serve.rest import encode_cursor

from .conftest import make_state

REFERENCE = Path(__file__).resolve().parents[1] / "reference"

CAP_XSD = xmlschema.XMLSchema(str(resources.files("redcolor.data") / "cap" / "CAP-v1.2.xsd"))


@pytest.fixture
def state(store, areas):
    return make_state(store, areas)


@pytest.fixture
async def client(state):
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_history_pages_through_everything_without_a_cap(client, state, writer, meron_ids):
    written = []
    for _ in range(40):
        written += writer.lifecycle(meron_ids[:6])
    state.follower.poll_once()
    got, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/history", params=params)).json()
        got += page["events"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["seq"] for e in got] == [e.seq for e in written]
    assert pages == -(-len(written) // 7)


async def test_history_filters(client, state, writer, meron_ids):
    a = writer.lifecycle(meron_ids[:2])
    b = writer.lifecycle(meron_ids[4:6], category="hostile_aircraft")
    state.follower.poll_once()
    page = (await client.get("/v1/history", params={"category": "hostile_aircraft"})).json()
    assert [e["seq"] for e in page["events"]] == [e.seq for e in b]
    page = (await client.get("/v1/history", params={"area": meron_ids[0]})).json()
    assert [e["seq"] for e in page["events"]] == [a[0].seq, a[1].seq, a[3].seq]
    window = {"since_unix_s": a[1].issued_at_unix_s, "until_unix_s": b[0].issued_at_unix_s}
    page = (await client.get("/v1/history", params=window)).json()
    assert [e["seq"] for e in page["events"]] == [a[1].seq, a[2].seq, a[3].seq]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"cursor": "not-a-cursor"}, 400, "bad cursor"),
        ({"cursor": encode_cursor(3)[:-2] + "!!"}, 400, "bad cursor"),
        ({"area": 999_999_999}, 400, "unknown area id"),
        ({"area": "x"}, 422, "area"),
        ({"limit": 100_000}, 422, "limit"),
        ({"since_unix_s": "nan"}, 400, "finite"),
        ({"category": "rockets"}, 422, "category"),
        ({"area": "1" * MAX_QUERY_BYTES}, 414, "query string"),
    ],
)
async def test_bad_history_requests_get_a_clear_4xx(client, params, status, words):
    r = await client.get("/v1/history", params=params)
    assert r.status_code == status
    assert words in r.json()["detail"]


async def test_active_and_live_file_follow_the_lifecycle(client, state, writer, meron_ids, areas):
    assert (await client.get("/warningMessages/alert/Alerts.json")).content == b""
    pre, alert, update = writer.lifecycle(meron_ids[:6], end=False)
    state.follower.poll_once()
    active = (await client.get("/v1/alerts/active")).json()
    assert active["last_seq"] == update.seq
    assert {a["area_id"] for a in active["areas"]} == set(meron_ids[:6])
    live = (await client.get("/WARNINGMESSAGES/alert/alerts.json")).json()
    # the id names the newest message (the update, which raised its areas from pre-alert)
    expected_id = oref.live_id(state.store.log_id(), update.seq, update.issued_at_unix_s)
    assert live["cat"] == "1" and live["id"] == expected_id
    assert sorted(live["data"]) == sorted(areas.get(i).value for i in meron_ids[:6])
    writer.event(alert.id, "ended", meron_ids[:6], refs=[pre.seq, alert.seq, update.seq])
    state.follower.poll_once()
    assert (await client.get("/v1/alerts/active")).json()["areas"] == []
    assert (await client.get("/warningmessages/alert/alerts.json")).content == b""
    geo = (await client.get("/v1/alerts/active.geojson")).json()
    assert geo["type"] == "FeatureCollection" and geo["features"] == []


async def test_live_file_lists_only_pre_alerts_as_cat_10(client, state, writer, meron_ids):
    writer.event("bm-1", "pre_alert", meron_ids[:3], category="missiles")
    state.follower.poll_once()
    live = json.loads((await client.get("/warningMessages/alert/Alerts.json")).content)
    assert live["cat"] == "10" and len(live["data"]) == 3


async def test_history_file_is_newest_first_in_israel_time(client, state, writer, meron_ids):
    writer.t = 1704520800.0  # 2024-01-06T06:00:00Z = 08:00 in Israel (IST, UTC+2)
    events = writer.lifecycle(meron_ids[:2])
    state.follower.poll_once()
    rows = (await client.get("/warningmessages/alert/history/alertshistory.json")).json()
    assert len(rows) == sum(len(e.areas) for e in events)
    assert rows[0]["category"] == 13 and rows[-1]["category"] == 14
    assert rows[-1]["alertDate"] == "2024-01-06 08:00:01"
    assert {r["category"] for r in rows} == {1, 13, 14}
    writer.event("late", "alert", meron_ids[:1])  # the cached file follows the log
    state.follower.poll_once()
    again = (await client.get("/warningMessages/alert/History/AlertsHistory.json")).json()
    assert len(again) == len(rows) + 1 and again[1:] == rows


async def test_every_cap_document_validates_and_atom_parses(client, state, writer, meron_ids):
    events = writer.lifecycle(meron_ids[:5]) + writer.lifecycle(meron_ids[5:8], category="hazmat")
    state.follower.poll_once()
    for event in events:
        r = await client.get(f"/cap/{event.seq}.xml")
        assert r.status_code == 200
        CAP_XSD.validate(r.content)
        root = ET.fromstring(r.content)
        ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
        thread = [e for e in events if e.id == event.id]
        first = event is thread[0]
        assert root.findtext("c:msgType", namespaces=ns) == ("Alert" if first else "Update")
        # an Update replaces: it lists every area the alert holds (the all-clear: those it ends)
        held = root.findall("c:info[c:language='he']/c:area", ns)  # a Prepare and a Shelter info
        assert len(held) == len(thread[0].areas)
        refs = [r.split(",")[1] for r in root.findtext("c:references", "", ns).split()]
        earlier = [e.seq for e in thread if e.seq < event.seq]
        assert [int(r.rsplit("-", 1)[1]) for r in refs] == earlier  # its own alert's only
    feed = ET.fromstring((await client.get("/cap/feed.atom")).content)
    atom = {"a": "http://www.w3.org/2005/Atom"}
    links = [e.find("a:link", atom).get("href") for e in feed.findall("a:entry", atom)]
    # one entry per alert, its latest message, newest first
    assert links == [f"http://127.0.0.1:8080/cap/{events[i].seq}.xml" for i in (-1, 3)]
    assert (await client.get("/cap/99999.xml")).status_code == 404


async def test_areas_locate_health_metrics(client, areas):
    listed = (await client.get("/v1/areas")).json()
    assert len(listed) == len(areas.areas) and {"id", "value", "shelter_s"} <= listed[0].keys()
    # Every value served is the real feed's spelling; other spellings are only aliases.
    spellings = json.loads((REFERENCE / "area_spellings.json").read_text(encoding="utf-8"))
    feed = {*spellings["oref_alert"]["areas"], *spellings["feed_pseudo_areas"]}
    assert {a["value"] for a in listed} <= feed
    chabad = next(a for a in listed if a["value"] == "כפר חב''ד")
    assert chabad["aliases"] == ["כפר חב'ד"]
    geo = (await client.get("/v1/areas.geojson")).json()
    assert geo["features"][0]["id"] == listed[0]["id"]
    area = areas.areas[200]
    point = area.polygon.representative_point()
    found = (await client.get("/v1/locate", params={"lat": point.y, "lon": point.x})).json()
    assert found["nearest"]["id"] == found["area"]["id"]
    assert (await client.get("/v1/locate", params={"lat": 91, "lon": 0})).status_code == 422
    assert (await client.get("/health")).json()["status"] == "ok"
    text = (await client.get("/metrics")).text
    assert "redcolor_rejected_requests_total" in text


async def test_area_geojson_is_gzipped_for_clients_that_accept_it(client):
    plain = await client.get("/v1/areas.geojson", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    zipped = await client.get("/v1/areas.geojson", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["content-encoding"] == "gzip"
    # httpx decompressed it: the same document, sent at under a third of the size
    assert zipped.content == plain.content
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3


def test_accept_encoding_parsing():
    from redcolor.serve.rest import accepts_gzip

    assert accepts_gzip("gzip") and accepts_gzip("deflate, gzip;q=0.5") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("identity") and not accepts_gzip("br")
    assert not accepts_gzip("gzip;q=0") and not accepts_gzip("*, gzip;q=0")
    assert not accepts_gzip("gzip;q=bad")
