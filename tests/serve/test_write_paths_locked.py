"""Every state-changing route and every socket of the app asks who is calling.

The routes are enumerated from the app itself (``app.routes``), so a route added later without
authentication fails here until it is locked or listed below with its reason. Anonymous calls
must get 401 and a viewer's session 403; the exceptions are deliberate and each is checked to
answer as documented (so an exception cannot quietly widen).
"""

from __future__ import annotations

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from redcolor.alerts.store import SQLiteEventStore
from redcolor.channels import webpush

from .conftest import LiveServer, make_state
from .opsutil import add_people, bearer, token_of, write_routes

EXCEPTIONS: dict[tuple[str, str], tuple[str, int, int]] = {
    ("POST", "/v1/auth/login"): ("how a person signs in (rate-limited, audited)", 422, 422),
    ("POST", "/v1/push/subscriptions"): (
        "the anonymous public subscribes to Web Push: it makes a capability secret for that"
        " one subscription and is rate-limited per address",
        400,
        400,
    ),
    ("PUT", "/v1/push/subscriptions/{sub_id}"): (
        "the subscription's own secret is its credential: no session stands in for it",
        401,
        401,
    ),
    ("DELETE", "/v1/push/subscriptions/{sub_id}"): (
        "the subscription's own secret is its credential: no session stands in for it",
        401,
        401,
    ),
    ("POST", "/v1/auth/logout"): ("anyone signed in may sign out, a viewer too", 401, 204),
    ("WS", "/v1/stream"): ("the public alert stream: read-only", 101, 101),
}
"""(method, path) -> (why, status for an anonymous caller, status for a viewer's session)."""


async def _ws_status(url: str, headers: dict[str, str]) -> int:
    try:
        async with websockets.connect(url, additional_headers=headers):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_anonymous_401_and_viewer_403_on_every_write_route_and_socket(
    tmp_path, areas, meron_ids
) -> None:
    store = SQLiteEventStore(tmp_path / "locked.db")
    state = make_state(store, areas, push_dir=tmp_path / "push")
    add_people(state)
    with LiveServer(state) as server:
        registry = server.app.state.push
        keys = webpush.SubscriptionKeys(p256dh="x", auth="y")
        sub = registry.store.add(
            webpush.Subscription("https://push.example/s/1", keys, meron_ids[:1])
        )
        fill = {"{proposal_id}": "0" * 12, "{sub_id}": sub.id}
        # a well-formed body where the route reads one before it asks who is calling
        bodies = {("PUT", "/v1/push/subscriptions/{sub_id}"): {"areas": meron_ids[:1]}}
        routes = write_routes(server.app.routes)
        assert len(routes) >= 15, routes
        assert set(EXCEPTIONS) <= set(routes), "an exception names a route that is gone"
        assert ("POST", "/v1/push/subscriptions") in EXCEPTIONS
        seen: dict[tuple[str, str], tuple[int, int]] = {}
        async with httpx.AsyncClient(base_url=server.http) as http:
            for method, path in routes:
                url = path
                for key, value in fill.items():
                    url = url.replace(key, value)
                statuses = []
                for headers in ({}, bearer(token_of(state, "vera"))):
                    if method == "WS":
                        statuses.append(await _ws_status(f"{server.ws}{url}", headers))
                    else:
                        body = bodies.get((method, path), {})
                        r = await http.request(method, url, json=body, headers=headers)
                        statuses.append(r.status_code)
                seen[(method, path)] = (statuses[0], statuses[1])
        expected = {
            route: EXCEPTIONS[route][1:] if route in EXCEPTIONS else (401, 403) for route in routes
        }
        assert seen == expected
        assert state.desk.proposals() == [] and store.last_seq() == 0
        assert state.desk.mode() == "live"
        # the only thing that happened: the viewer signed out (audited)
        assert [(a.action, a.actor) for a in state.audit.read()] == [("logout", "vera")]
    store.close()


@pytest.mark.parametrize("path", ["/", "/v1/areas", "/v1/operator/audit"])
async def test_nothing_else_takes_writes(client_app, path) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = await client_app.request(method, path, json={})
        assert r.status_code in (401, 405), (method, path, r.status_code)


@pytest.fixture
async def client_app(store, areas):
    from redcolor.serve.app import create_app

    transport = httpx.ASGITransport(app=create_app(make_state(store, areas)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c
