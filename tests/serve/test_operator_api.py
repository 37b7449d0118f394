"""The operator API through HTTP against the real app: the issue's acceptance points.

Latency figures (approval or cancel click to WebSocket, live file and CAP) are measured on a
real uvicorn server on a loopback port and printed (``pytest -s`` shows them); they are asserted
against the issue's 1 s with no tighter bound.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pyotp
import pytest
import websockets

from redcolor.alerts.store import SQLiteEventStore
from redcolor.channels import oref
from redcolor.cli.main import main
from redcolor.serve.app import create_app
from redcolor.serve.feeds import LIVE_PATH

from .conftest import LiveServer, make_state
from .opsutil import PASSWORD, add_people, bearer, login, write_routes

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
REAL_LIVE_CATS = {code for kind, code in oref.LIVE_CAT.items() if kind != "drill"}


@pytest.fixture
def ops_state(tmp_path: Path, areas):
    store = SQLiteEventStore(tmp_path / "ops.db")
    state = make_state(store, areas, poll_s=0.005, heartbeat_s=0.5)
    add_people(state)
    yield state
    store.close()


@pytest.fixture
async def client(ops_state):
    transport = httpx.ASGITransport(app=create_app(ops_state))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _tokens(client: httpx.AsyncClient, *names: str) -> list[dict[str, str]]:
    return [bearer((await login(client, name))["token"]) for name in names]


def _issue(area_ids, category="missiles", **extra) -> dict:
    return {"kind": "issue", "category": category, "area_ids": list(area_ids), **extra}


async def _event_of(ws, alert_id: str, stage: str) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") == alert_id and frame.get("stage") == stage:
            return frame


async def _until(check, timeout_s: float = 3.0):
    deadline = time.monotonic() + timeout_s
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("not seen in time")
        await asyncio.sleep(0.005)


async def _channels_show(http, ws, alert_id: str, stage: str, t0: float, live_check) -> dict:
    """Seconds from ``t0`` until the WebSocket, the live file and CAP (feed entry, then the
    document) each show the event of ``alert_id`` at ``stage``; the CAP root too."""
    frame = await asyncio.wait_for(_event_of(ws, alert_id, stage), 3)
    seen = {"ws": time.monotonic() - t0}

    async def live_ok():
        return live_check((await http.get(LIVE_PATH)).content)

    await _until(live_ok)
    seen["live_file"] = time.monotonic() - t0

    async def cap_ok():
        feed = (await http.get("/cap/feed.atom")).text
        if f"/cap/{frame['seq']}.xml" not in feed:
            return None
        return ET.fromstring((await http.get(f"/cap/{frame['seq']}.xml")).content)

    seen["cap_root"] = await _until(cap_ok)
    seen["cap"] = time.monotonic() - t0
    seen["frame"] = frame
    return seen


async def test_approved_alert_then_its_cancel_reach_every_channel_within_a_second(
    ops_state, meron_ids
) -> None:
    three = meron_ids[:3]
    values = {ops_state.area_value(i) for i in three}
    with LiveServer(ops_state) as server:
        async with (
            httpx.AsyncClient(base_url=server.http) as http,
            websockets.connect(f"{server.ws}/v1/stream") as ws,
        ):
            olga, sam, sue = await _tokens(http, "olga", "sam", "sue")
            # The proposer approving their own gets 403 and nothing is published.
            own = await http.post("/v1/operator/proposals", json=_issue(three), headers=sam)
            assert own.status_code == 201, own.text
            before = ops_state.store.last_seq()
            r = await http.post(f"/v1/operator/proposals/{own.json()['id']}/approve", headers=sam)
            assert r.status_code == 403 and "another supervisor" in r.json()["detail"]
            r = await http.post(f"/v1/operator/proposals/{own.json()['id']}/approve", headers=olga)
            assert r.status_code == 403  # an operator approves nothing
            assert ops_state.store.last_seq() == before

            r = await http.post("/v1/operator/proposals", json=_issue(three), headers=olga)
            assert r.status_code == 201 and r.json()["state"] == "pending"
            proposal = r.json()
            alert_id = proposal["alert_id"]
            t0 = time.monotonic()
            approve = asyncio.ensure_future(
                http.post(f"/v1/operator/proposals/{proposal['id']}/approve", headers=sue)
            )

            def lists_three(body: bytes) -> bool:
                return bool(body) and values <= set(json.loads(body)["data"])

            seen = await _channels_show(http, ws, alert_id, "alert", t0, lists_three)
            answer = await approve
            assert answer.status_code == 200 and answer.json()["state"] == "published"
            assert answer.json()["event_seqs"] == [seen["frame"]["seq"]]
            assert seen["frame"]["source"] == ["operator:olga", "approved:sue"]
            root = seen["cap_root"]
            assert root.find(f"{CAP}status").text == "Actual"
            assert root.find(f"{CAP}msgType").text == "Alert"
            print(
                f"\napproval -> WS {seen['ws'] * 1000:.0f} ms, live file"
                f" {seen['live_file'] * 1000:.0f} ms, CAP {seen['cap'] * 1000:.0f} ms"
            )
            assert max(seen["ws"], seen["live_file"], seen["cap"]) < 1.0

            # Cancel: the alert was false.
            r = await http.post(
                "/v1/operator/proposals", json={"kind": "cancel", "alert_id": alert_id},
                headers=olga,
            )  # fmt: skip
            assert r.status_code == 201, r.text
            t0 = time.monotonic()
            approve = asyncio.ensure_future(
                http.post(f"/v1/operator/proposals/{r.json()['id']}/approve", headers=sam)
            )

            def gone(body: bytes) -> bool:
                return not body or not values & set(json.loads(body)["data"])

            seen = await _channels_show(http, ws, alert_id, "cancelled", t0, gone)
            assert (await approve).status_code == 200
            root = seen["cap_root"]
            assert root.find(f"{CAP}msgType").text == "Cancel"
            assert root.find(f"{CAP}references") is not None
            print(
                f"cancel -> WS {seen['ws'] * 1000:.0f} ms, live file"
                f" {seen['live_file'] * 1000:.0f} ms, CAP {seen['cap'] * 1000:.0f} ms"
            )
            assert max(seen["ws"], seen["live_file"], seen["cap"]) < 1.0
            assert "sent in error" in seen["frame"]["instructions"]["en"]

            audit = (await http.get("/v1/operator/audit", headers=sam)).json()
    actions = [(r["action"], r["actor"]) for r in audit]
    assert actions == [
        ("login", "olga"),
        ("login", "sam"),
        ("login", "sue"),
        ("propose", "sam"),
        ("approve_refused", "sam"),
        ("propose", "olga"),
        ("approve", "sue"),
        ("propose", "olga"),
        ("approve", "sam"),
    ]
    assert ops_state.audit.verify() == len(audit)


async def test_an_exercise_never_looks_real(client, ops_state, meron_ids) -> None:
    olga, sam, sue = await _tokens(client, "olga", "sam", "sue")
    r = await client.put("/v1/operator/mode", json={"mode": "exercise"}, headers=sam)
    assert r.status_code == 200 and r.json() == {"mode": "exercise"}
    assert (await client.get("/v1/auth/me", headers=olga)).json()["mode"] == "exercise"
    made = []
    for category in ("missiles", "earthquake", "drill"):
        r = await client.post(
            "/v1/operator/proposals", json=_issue(meron_ids[:3], category), headers=olga
        )
        assert r.status_code == 201 and r.json()["draft"]["exercise"] is True
        r = await client.post(f"/v1/operator/proposals/{r.json()['id']}/approve", headers=sue)
        assert r.status_code == 200
        made += r.json()["event_seqs"]
        ops_state.follower.poll_once()
        live = json.loads((await client.get(LIVE_PATH)).content)
        assert live["cat"] in set(oref.DRILL_LIVE_CAT.values()), live
        assert live["cat"] not in REAL_LIVE_CATS and live["title"].startswith("תרגיל")
    for seq in made:
        root = ET.fromstring((await client.get(f"/cap/{seq}.xml")).content)
        assert root.find(f"{CAP}status").text == "Exercise"
    r = await client.put("/v1/operator/mode", json={"mode": "live"}, headers=sam)
    r = await client.post(
        "/v1/operator/proposals", json=_issue(meron_ids[3:5], "drill"), headers=olga
    )
    assert r.json()["draft"]["exercise"] is True  # a drill is an exercise in LIVE mode too
    modes = [(a.before, a.after) for a in ops_state.audit.read() if a.action == "mode"]
    assert modes == [("live", "exercise"), ("exercise", "live")]


async def test_issue_alone_awaits_confirmation(tmp_path, areas, meron_ids) -> None:
    from redcolor.operators.desk import DeskPolicy

    store = SQLiteEventStore(tmp_path / "solo.db")
    state = make_state(store, areas, desk=DeskPolicy(solo_categories=frozenset({"earthquake"})))
    add_people(state)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        olga, sam, sue = await _tokens(c, "olga", "sam", "sue")
        r = await c.post("/v1/operator/issue", json=_issue(meron_ids[:2]), headers=sam)
        assert r.status_code == 403 and "solo categories: earthquake" in r.json()["detail"]
        r = await c.post(
            "/v1/operator/issue", json=_issue(meron_ids[:2], "earthquake"), headers=olga
        )
        assert r.status_code == 403
        r = await c.post(
            "/v1/operator/issue", json=_issue(meron_ids[:2], "earthquake"), headers=sam
        )
        assert r.status_code == 200 and r.json()["state"] == "awaiting_confirmation"
        assert store.last_seq() == 1
        state_now = (await c.get("/v1/operator/state", headers=olga)).json()
        assert [p["id"] for p in state_now["awaiting_confirmation"]] == [r.json()["id"]]
        assert state_now["open_alerts"][0]["category"] == "earthquake"
        url = f"/v1/operator/proposals/{r.json()['id']}/confirm"
        assert (await c.post(url, headers=sam)).status_code == 403
        done = await c.post(url, headers=sue)
        assert done.status_code == 200 and done.json()["state"] == "confirmed"
    store.close()


async def test_drafts_are_checked_with_one_line_4xx(client, meron_ids) -> None:
    (olga,) = await _tokens(client, "olga")
    for body, status in (
        (_issue([]), 400),
        (_issue([999_999_999]), 400),
        (_issue(meron_ids[:1], "pre_alert"), 400),
        (_issue(meron_ids[:1], "volcano"), 422),
        (_issue(meron_ids[:1], expires_in_s=1e9), 400),
        ({"kind": "cancel", "alert_id": "op-none"}, 404),
        ({"kind": "erase"}, 422),
        ({"kind": "issue", "surprise": 1}, 422),
    ):
        r = await client.post("/v1/operator/proposals", json=body, headers=olga)
        assert r.status_code == status, (body, r.text)
        assert "\n" not in r.json()["detail"]
    r = await client.post("/v1/operator/proposals/zzz/approve", headers=olga)
    assert r.status_code in (403, 422)
    big = {"kind": "issue", "category": "missiles", "area_ids": list(range(30_000))}
    r = await client.post("/v1/operator/proposals", json=big, headers=olga)
    assert r.status_code == 413  # over the 64 KiB body limit, before it is read


async def test_preview_resolve_templates_and_proposal_list(client, meron_ids, areas) -> None:
    olga, vera = await _tokens(client, "olga", "vera")
    r = await client.post(
        "/v1/operator/preview", json=_issue(meron_ids[:3], "hazmat"), headers=olga
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["areas_count"] == 3 and preview["live_file"]["cat"] == oref.LIVE_CAT["hazmat"]
    assert "<status>Actual</status>" in preview["cap"][0]
    assert sorted(preview["sirens"]["activate"]) == sorted(meron_ids[:3])
    templates = (await client.get("/v1/operator/templates", headers=vera)).json()
    assert "drill" in templates["categories"] and "missiles.alert" in templates["templates"]
    zone = areas.get(meron_ids[0]).zone_en
    assert zone in templates["zones"]
    r = await client.post("/v1/operator/areas/resolve", json={"zones": [zone]}, headers=olga)
    assert meron_ids[0] in r.json()["area_ids"]
    assert (
        await client.post("/v1/operator/preview", json=_issue(meron_ids[:1]), headers=vera)
    ).status_code == 403
    await client.post("/v1/operator/proposals", json=_issue(meron_ids[:1]), headers=olga)
    listed = (await client.get("/v1/operator/proposals?state=pending", headers=vera)).json()
    assert len(listed) == 1 and listed[0]["proposer"] == "olga"
    assert (await client.get("/v1/operator/proposals?state=odd", headers=vera)).status_code == 422


async def test_login_is_rate_limited_and_audited_without_the_password(client, ops_state) -> None:
    for _ in range(5):
        r = await client.post("/v1/auth/login", json={"user": "olga", "password": "guess" * 3})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = await client.post("/v1/auth/login", json={"user": "olga", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "too many failed logins" in r.json()["detail"]
    records = ops_state.audit.read()
    assert [a.action for a in records] == ["login_failed"] * 5
    assert all("guess" not in json.dumps(a.to_json()) for a in records)
    ok = await client.post("/v1/auth/login", json={"user": "sam", "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["role"] == "supervisor"
    # another name from the same address: its failures count per address too
    for i in range(15):
        await client.post("/v1/auth/login", json={"user": f"nobody{i}", "password": "x" * 12})
    r = await client.post("/v1/auth/login", json={"user": "sue", "password": PASSWORD})
    assert r.status_code == 429


async def test_session_cookie_needs_csrf_and_our_origin(client, ops_state, meron_ids) -> None:
    r = await client.post("/v1/auth/login", json={"user": "olga", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "rc_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # plain HTTP here; TLS: see below
    csrf = r.json()["csrf"]
    me = await client.get("/v1/auth/me")  # the cookie alone reads
    assert me.status_code == 200 and me.json()["user"] == "olga" and me.json()["csrf"] == csrf
    body = _issue(meron_ids[:2])
    url = "/v1/operator/proposals"
    assert (await client.post(url, json=body)).status_code == 403
    assert (
        await client.post(url, json=body, headers={"X-CSRF-Token": "0" * 64})
    ).status_code == 403
    foreign = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    r = await client.post(url, json=body, headers=foreign)
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    assert (await client.post(url, json=body, headers={"X-CSRF-Token": csrf})).status_code == 201
    own = {"X-CSRF-Token": csrf, "Origin": "http://testserver"}
    assert (await client.post(url, json=body, headers=own)).status_code == 201
    assert len(ops_state.desk.proposals()) == 2
    # logout revokes the session and clears the cookie
    r = await client.post("/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204 and 'rc_session=""' in r.headers["set-cookie"]
    client.cookies.set("rc_session", cookie.split(";")[0].split("=", 1)[1])
    assert (await client.get("/v1/auth/me")).status_code == 401
    actions = [a.action for a in ops_state.audit.read()]
    assert actions == ["login", "propose", "propose", "logout"]


async def test_edge_servers_refuse_operator_writes(tmp_path, areas, meron_ids) -> None:
    store = SQLiteEventStore(tmp_path / "edge.db")
    state = make_state(store, areas, nats_follow_url="nats://127.0.0.1:4222")
    add_people(state)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        (olga,) = await _tokens(c, "olga")
        r = await c.post("/v1/operator/proposals", json=_issue(meron_ids[:1]), headers=olga)
        assert r.status_code == 409 and "this server is an edge" in r.json()["detail"]
    assert state.desk.proposals() == []
    store.close()


async def test_the_audit_log_is_for_supervisors_and_cannot_be_changed(client, ops_state) -> None:
    sam, olga = await _tokens(client, "sam", "olga")
    assert (await client.get("/v1/operator/audit", headers=olga)).status_code == 403
    client.cookies.clear()  # the logins set the cookie: now nobody
    assert (await client.get("/v1/operator/audit")).status_code == 401
    for method in ("PUT", "DELETE", "PATCH", "POST"):
        r = await client.request(method, "/v1/operator/audit", headers=sam, json={})
        assert r.status_code == 405, method
    page = (await client.get("/v1/operator/audit?after=1&limit=1", headers=sam)).json()
    assert [r["seq"] for r in page] == [2]
    lines = (await client.get("/v1/operator/audit?format=jsonl", headers=sam)).text.splitlines()
    assert [json.loads(x)["action"] for x in lines] == ["login", "login"]
    assert ops_state.audit.verify() == 2
    app = client._transport.app  # type: ignore[attr-defined]
    routes = write_routes(app.routes)
    assert ("POST", "/v1/operator/proposals") in routes  # the walk sees the operator routes
    assert [r for r in routes if "audit" in r[1]] == []


async def test_the_audit_export_holds_every_record_past_one_page(client, ops_state) -> None:
    from redcolor.serve.operator import MAX_AUDIT_PAGE

    (sam,) = await _tokens(client, "sam")
    for i in range(MAX_AUDIT_PAGE + 5):  # more than one page: the export must page itself
        ops_state.audit.append(
            actor="cli:test", role="admin", address="local", action="user_add", target=f"u{i}"
        )
    total = len(ops_state.audit.read(limit=10_000))
    r = await client.get("/v1/operator/audit?format=jsonl", headers=sam)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    assert "attachment" in r.headers["content-disposition"]
    seqs = [json.loads(line)["seq"] for line in r.text.splitlines()]
    assert seqs == list(range(1, total + 1))
    part = await client.get("/v1/operator/audit?format=jsonl&after=3&limit=7", headers=sam)
    assert [json.loads(x)["seq"] for x in part.text.splitlines()] == list(range(4, 11))
    page = (await client.get("/v1/operator/audit", headers=sam)).json()
    assert len(page) == MAX_AUDIT_PAGE  # one JSON page stays bounded


async def test_security_headers_on_every_answer(client) -> None:
    for path in ("/", "/v1/areas", "/no/such/thing", "/v1/operator/state", LIVE_PATH):
        r = await client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in r.headers  # plain HTTP
    docs = await client.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "'sha256-" in policy and "'unsafe-inline'" not in policy.split("script-src")[1]
    assert "frame-ancestors 'none'" in policy


async def test_the_server_lapses_undecided_proposals_by_itself(ops_state, meron_ids) -> None:
    from redcolor.operators.desk import Actor, Draft

    olga = Actor("olga", "operator", "127.0.0.1")
    draft = Draft(kind="issue", category="missiles", area_ids=frozenset(meron_ids[:1]))
    # proposed 299.5 s ago: due to lapse half a second from now (the policy's 300 s)
    proposal = ops_state.desk.propose(olga, draft, time.time() - 299.5)
    with LiveServer(ops_state) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            health = (await http.get("/health")).json()
            assert health["tasks"]["lapses"]["state"] == "running"

            async def lapsed():
                return ops_state.desk.get(proposal.id).state == "lapsed"

            await _until(lapsed, timeout_s=5.0)
    assert [(a.action, a.actor) for a in ops_state.audit.read()] == [
        ("propose", "olga"),
        ("lapse", "system"),
    ]
    assert ops_state.store.last_seq() == 0


async def test_two_supervisors_approving_at_once_over_http_publish_once(
    client, ops_state, meron_ids
) -> None:
    olga, sam, sue = await _tokens(client, "olga", "sam", "sue")
    r = await client.post("/v1/operator/proposals", json=_issue(meron_ids[:3]), headers=olga)
    url = f"/v1/operator/proposals/{r.json()['id']}/approve"
    answers = await asyncio.gather(client.post(url, headers=sam), client.post(url, headers=sue))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert ops_state.store.last_seq() == 1
    approvals = [a for a in ops_state.audit.read() if a.action == "approve"]
    assert len(approvals) == 1


async def test_behind_an_https_public_url(tmp_path, areas, meron_ids) -> None:
    """A TLS-ending proxy in front: the cookie is Secure and only the public origin may use it."""
    store = SQLiteEventStore(tmp_path / "proxied.db")
    state = make_state(store, areas, public_url="https://alerts.example/")
    add_people(state)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post("/v1/auth/login", json={"user": "olga", "password": PASSWORD})
        assert "Secure" in r.headers["set-cookie"]
        token, csrf = r.json()["token"], r.json()["csrf"]
        body = _issue(meron_ids[:1])
        for origin, status in (("http://testserver", 403), ("https://alerts.example", 201)):
            headers = {"Origin": origin, "X-CSRF-Token": csrf, "Cookie": f"rc_session={token}"}
            r = await c.post("/v1/operator/proposals", json=body, headers=headers)
            assert r.status_code == status, (origin, r.text)
    store.close()


async def test_a_lost_totp_key_file_leaves_the_server_up_and_fails_the_factor_closed(
    tmp_path: Path, areas, caplog
) -> None:
    """The TOTP key file beside the store is lost: the server still starts (alerts must flow),
    says why in its log in one line, refuses the factor's logins with the same 401 as any
    failure, and lets an account without the factor in."""
    store = SQLiteEventStore(tmp_path / "ops.db")
    first = make_state(store, areas)
    _, uri = first.users.add("dana", "supervisor", PASSWORD, totp=True)
    first.users.add("omer", "operator", PASSWORD)
    first.users.key_path.unlink()
    with caplog.at_level("WARNING", logger="redcolor.serve"):
        state = make_state(store, areas)
    (said,) = [r.getMessage() for r in caplog.records if "TOTP" in r.getMessage()]
    assert said.startswith("TOTP logins will fail: cannot read TOTP key") and "\n" not in said
    code = pyotp.TOTP(pyotp.parse_uri(uri).secret).now()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.post(
            "/v1/auth/login", json={"user": "dana", "password": PASSWORD, "totp": code}
        )
        assert r.status_code == 401 and "Traceback" not in r.text
        assert (await login(client, "omer"))["role"] == "operator"
    store.close()


async def test_a_totp_key_kept_apart_from_the_store_seals_and_opens_the_factor(
    tmp_path: Path, areas, monkeypatch, capsys
) -> None:
    """`users add --totp --totp-key K` seals the secret under K, away from the database (no
    key file beside it); a server left at the default cannot open it (401, and says why at
    start), one given the same key logs the account in with the same code (not yet used)."""
    store = SQLiteEventStore(tmp_path / "ops.db")
    key = tmp_path / "secrets" / "totp.key"
    key.parent.mkdir()
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["users", "add", "dana", "--role", "supervisor", "--totp"]
    assert main([*argv, "--db", store.path, "--totp-key", str(key)]) == 0
    uri = capsys.readouterr().out.strip()
    assert key.stat().st_mode & 0o777 == 0o600
    assert not Path(f"{store.path}.totp-key").exists()
    code = pyotp.TOTP(pyotp.parse_uri(uri).secret).now()
    body = {"user": "dana", "password": PASSWORD, "totp": code}
    for given, status in ((None, 401), (key, 200)):
        state = make_state(store, areas, totp_key=given)
        assert (state.users.key_problem is None) == (given is not None)
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post("/v1/auth/login", json=body)
            assert r.status_code == status, r.text
    store.close()
