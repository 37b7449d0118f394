"""Administrators list and revoke operator sessions, over real HTTP against the real app.

A revoked session must be refused at its very next request. Every operator route is a plain
request that authenticates its session afresh (no socket or long-lived response is opened on a
session: the public stream asks for none, a siren's socket refuses one), so refusing the next
request is the whole of it; these tests check that by bearer header and by cookie, whether the
administrator revokes through the API or through ``redcolor users revoke`` on the server's file.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.cli.main import main
from redcolor.serve.app import create_app

from .conftest import LiveServer, make_state
from .opsutil import add_people, bearer, login

SESSION_FIELDS = {
    "session_id",
    "user",
    "role",
    "created_unix_s",
    "last_seen_unix_s",
    "expires_unix_s",
    "address",
}
ADMIN_ROUTES = (
    ("GET", "/v1/operator/sessions"),
    ("DELETE", "/v1/operator/sessions/0123456789ab"),
    ("DELETE", "/v1/operator/users/olga/sessions"),
)


@pytest.fixture
def ops_state(tmp_path: Path, areas):
    store = SQLiteEventStore(tmp_path / "sessions.db")
    state = make_state(store, areas)
    add_people(state)
    yield state
    store.close()


def _id(token: str) -> str:
    return token.split("_")[1]


def _cookie(token: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"rc_session={token}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


async def test_a_revoked_session_is_refused_at_its_next_request(ops_state) -> None:
    with LiveServer(ops_state) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            first = await login(http, "olga")
            second = await login(http, "olga")
            http.cookies.clear()  # each request below says how it authenticates
            ada = bearer((await login(http, "ada"))["token"])
            http.cookies.clear()
            by_bearer, by_cookie = bearer(first["token"]), _cookie(second["token"])

            r = await http.get("/v1/operator/sessions", headers=ada)
            assert r.status_code == 200, r.text
            listed = r.json()
            assert [(s["user"], s["session_id"]) for s in listed] == [
                ("olga", _id(first["token"])),
                ("olga", _id(second["token"])),
                ("ada", _id(ada["Authorization"].split()[1])),
            ]
            assert all(set(s) == SESSION_FIELDS for s in listed)
            assert {s["address"] for s in listed} == {"127.0.0.1"}
            for secret in (first["token"], second["token"], first["csrf"]):
                assert secret.split("_")[-1] not in r.text  # never a token, secret or CSRF
            only = await http.get("/v1/operator/sessions?user=olga", headers=ada)
            assert [s["user"] for s in only.json()] == ["olga", "olga"]
            assert (
                await http.get("/v1/operator/sessions?user=nobody", headers=ada)
            ).status_code == 404

            # both of olga's sessions work
            assert (await http.get("/v1/operator/state", headers=by_bearer)).status_code == 200
            assert (await http.get("/v1/auth/me", headers=by_cookie)).status_code == 200

            url = f"/v1/operator/sessions/{_id(first['token'])}"
            r = await http.delete(url, headers=ada)
            assert r.status_code == 204 and r.content == b""
            r = await http.get("/v1/operator/state", headers=by_bearer)
            assert r.status_code == 401 and "ended" in r.json()["detail"]
            assert r.headers["www-authenticate"] == "Bearer"
            assert (await http.get("/v1/auth/me", headers=by_cookie)).status_code == 200
            r = await http.delete(url, headers=ada)  # ended already
            assert r.status_code == 404 and "no live session" in r.json()["detail"]
            assert (
                await http.delete("/v1/operator/sessions/0123456789ab", headers=ada)
            ).status_code == 404
            assert (await http.delete("/v1/operator/sessions/ZZ", headers=ada)).status_code == 422

            # every session of a user: the cookie one goes too, for reads and writes alike
            r = await http.delete("/v1/operator/users/olga/sessions", headers=ada)
            assert r.status_code == 200 and r.json() == {
                "user": "olga",
                "revoked": [_id(second["token"])],
            }
            assert (await http.get("/v1/auth/me", headers=by_cookie)).status_code == 401
            body = {"kind": "issue", "category": "missiles", "area_ids": [1]}
            r = await http.post(
                "/v1/operator/proposals",
                json=body,
                headers=_cookie(second["token"], second["csrf"]),
            )
            assert r.status_code == 401
            r = await http.delete("/v1/operator/users/olga/sessions", headers=ada)
            assert r.json() == {"user": "olga", "revoked": []}  # nothing live: still audited
            r = await http.delete("/v1/operator/users/nobody/sessions", headers=ada)
            assert r.status_code == 404 and "no operator named" in r.json()["detail"]

            # the account itself is untouched: a new login works
            again = await login(http, "olga")
            assert (
                await http.get("/v1/auth/me", headers=bearer(again["token"]))
            ).status_code == 200
    assert ops_state.desk.proposals() == []
    revokes = [a for a in ops_state.audit.read() if a.action == "session_revoke"]
    assert [(a.actor, a.role, a.target) for a in revokes] == [
        ("ada", "admin", f"session:{_id(first['token'])}"),
        ("ada", "admin", "user:olga"),
        ("ada", "admin", "user:olga"),
    ]
    one = revokes[0]
    assert one.before["user"] == "olga" and one.before["session_id"] == _id(first["token"])
    assert one.after["revoked_unix_s"] >= one.before["last_seen_unix_s"]
    assert [s["session_id"] for s in revokes[1].before["live_sessions"]] == [_id(second["token"])]
    assert revokes[1].after["live_sessions"] == [] and revokes[2].before["live_sessions"] == []
    assert set(one.before) == SESSION_FIELDS  # what the listing shows: no token, no digest
    assert set(one.after) == SESSION_FIELDS | {"revoked_unix_s"}
    dump = json.dumps([a.to_json() for a in revokes])
    assert first["token"].split("_")[-1] not in dump
    assert ops_state.audit.verify() == len(ops_state.audit.read())


async def test_the_cli_revokes_the_sessions_of_a_running_server(ops_state, capsys) -> None:
    """``redcolor users revoke`` writes the server's file through its own connection; the
    server refuses the session at its next request all the same."""
    with LiveServer(ops_state) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            sam = bearer((await login(http, "sam"))["token"])
            assert (await http.get("/v1/operator/state", headers=sam)).status_code == 200
            db = str(ops_state.store.path)
            assert main(["users", "sessions", "sam", "--json", "--db", db]) == 0
            listed = json.loads(capsys.readouterr().out)
            assert [s["session_id"] for s in listed] == [_id(sam["Authorization"].split()[1])]
            assert main(["users", "revoke", "sam", "--db", db]) == 0
            assert capsys.readouterr().out.strip() == "ended 1 session of sam"
            assert (await http.get("/v1/operator/state", headers=sam)).status_code == 401
    record = ops_state.audit.read()[-1]
    assert (record.action, record.target, record.role) == ("session_revoke", "user:sam", "admin")
    assert record.actor.startswith("cli:") and record.address == "local"


async def test_only_admins_list_or_revoke_sessions(ops_state) -> None:
    with LiveServer(ops_state) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            for method, path in ADMIN_ROUTES:
                r = await http.request(method, path)
                assert r.status_code == 401, (method, path)
            for name in ("vera", "olga", "sam"):
                who = bearer((await login(http, name))["token"])
                http.cookies.clear()
                for method, path in ADMIN_ROUTES:
                    r = await http.request(method, path, headers=who)
                    assert r.status_code == 403, (name, method, path)
                    assert r.json()["detail"].startswith("this takes a admin")
            # an administrator by cookie: a revocation needs the CSRF token and our origin
            ada = await login(http, "ada")
            http.cookies.clear()
            url = "/v1/operator/users/olga/sessions"
            assert (await http.delete(url, headers=_cookie(ada["token"]))).status_code == 403
            foreign = {**_cookie(ada["token"], ada["csrf"]), "Origin": "https://evil.example"}
            assert (await http.delete(url, headers=foreign)).status_code == 403
            r = await http.delete(url, headers=_cookie(ada["token"], ada["csrf"]))
            assert r.status_code == 200 and r.json()["user"] == "olga"
            sessions = await http.get("/v1/operator/sessions", headers=_cookie(ada["token"]))
            assert [s["user"] for s in sessions.json()] == ["vera", "sam", "ada"]
    revokes = [a.target for a in ops_state.audit.read() if a.action == "session_revoke"]
    assert revokes == ["user:olga"]


async def test_an_edge_server_ends_its_own_sessions(tmp_path, areas) -> None:
    """Edges refuse the desk's writes (409) but not this: their sessions are their own file's."""
    store = SQLiteEventStore(tmp_path / "edge.db")
    state = make_state(store, areas, nats_follow_url="nats://127.0.0.1:4222")
    add_people(state)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        olga = await login(http, "olga")
        ada = bearer((await login(http, "ada"))["token"])
        http.cookies.clear()
        r = await http.delete(f"/v1/operator/sessions/{_id(olga['token'])}", headers=ada)
        assert r.status_code == 204, r.text
        r = await http.get("/v1/auth/me", headers=bearer(olga["token"]))
        assert r.status_code == 401
    store.close()
