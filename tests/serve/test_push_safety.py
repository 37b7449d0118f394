"""Web Push under abuse, on a real server: no endpoint reaches loopback, private, link-local or
metadata addresses (checked at subscribe time and again when connecting, so DNS rebinding fails
too, and no connection is ever opened to a refused address); only the owner's secret changes or
deletes a subscription; a rate limit per address and a cap; the registry survives a restart."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import sqlite3

import httpcore
import httpx
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.channels import push_guard

from .conftest import LiveServer, SalvoWriter, make_state, until
from .push_service import TEST_HOST, PushEndpoint

SUBS = "/v1/push/subscriptions"
_AT_SEND = 'redcolor_push_refused_total{reason="address_at_send"}'


@pytest.fixture
def connects(monkeypatch) -> list[tuple[str, int]]:
    """Every (address, port) a TCP connection is opened to in this process through httpcore
    (the push client, and the tests' own HTTP client). Anything but loopback fails here, before
    a packet leaves: the test machine must send nothing out, and the test then fails on the
    record."""
    seen: list[tuple[str, int]] = []
    real = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self, host, port, **kwargs):
        seen.append((host, port))
        if not ipaddress.ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"test refuses to connect to {host}")
        return await real(self, host, port, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    return seen


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """The one stub in these tests: what ``TEST_HOST`` resolves to, changed at will, as a DNS
    server an attacker controls would (real rebinding needs a DNS server this machine may not
    reach). Other names resolve as usual."""
    answers: dict[str, list[str]] = {TEST_HOST: ["127.0.0.1"]}
    real = push_guard.resolve

    async def resolve(host: str, port: int):
        if host in answers:
            return [ipaddress.ip_address(a) for a in answers[host]]
        return await real(host, port)

    monkeypatch.setattr(push_guard, "resolve", resolve)
    return answers


def _server(tmp_path, areas, endpoint: PushEndpoint | None = None, **overrides) -> LiveServer:
    settings = (endpoint.config() if endpoint else {}) | {"poll_s": 0.005, "push_dir": tmp_path}
    store = SQLiteEventStore(tmp_path / "s.db")
    return LiveServer(make_state(store, areas, **settings | overrides))


async def _until_metric(client: httpx.AsyncClient, name: str, want: float) -> None:
    for _ in range(500):
        if _metric((await client.get("/metrics")).text, name) >= want:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never reached {want}")


def _metric(text: str, name: str) -> float:
    line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
    return 0.0 if line is None else float(line.rsplit(" ", 1)[1])


async def test_internal_and_plain_http_endpoints_are_refused_at_subscribe(
    tmp_path, areas, meron_ids, connects
) -> None:
    endpoint = PushEndpoint(tmp_path / "tls")
    refused = [
        "https://127.0.0.1/push/a",
        "https://10.0.0.1/push/a",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:6379/",
        "https://[::ffff:10.0.0.1]/push/a",
        "https://[64:ff9b::a9fe:a9fe]/push/a",  # NAT64 spelling of 169.254.169.254
        "https://[fe80::1]/push/a",
        "https://100.64.0.1/push/a",
        "https://224.0.0.1/push/a",
        "https://0.0.0.0/push/a",
        "https://localhost/push/a",  # a name resolving to loopback
        "https://2130706433/push/a",  # 127.0.0.1 as one decimal number
        "https://0x7f.0.0.1/push/a",
        "https://0177.0.0.1/push/a",
        "https://127.1/push/a",
        "https://localhost./push/a",
        "https://user@10.0.0.1/push/a",
        "https://good.example@127.0.0.1/push/a",
        "http://8.8.8.8/push/a",
    ]
    with endpoint, _server(tmp_path, areas, push_burst=100) as server:
        sub = endpoint.subscription([meron_ids[0]])
        async with httpx.AsyncClient(base_url=server.http) as client:
            for url in refused:
                r = await client.post(SUBS, json=sub | {"endpoint": url})
                assert r.status_code == 400, (url, r.text)
                assert "endpoint" in r.json()["detail"], url
            metrics = (await client.get("/metrics")).text
        assert not server.app.state.push.store.subs
    assert _metric(metrics, 'redcolor_push_refused_total{reason="address"}') == 11
    assert [c for c in connects if c[1] != server.port] == []


async def test_http_is_refused_even_when_the_range_is_allowed(tmp_path, areas, meron_ids):
    endpoint = PushEndpoint(tmp_path / "tls")
    with endpoint, _server(tmp_path, areas, endpoint) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            sub = endpoint.subscription([meron_ids[0]])
            plain = sub | {"endpoint": sub["endpoint"].replace("https://", "http://")}
            assert (await client.post(SUBS, json=plain)).status_code == 400
            # the allow-list names 127.0.0.0/8 only: 10.0.0.1 stays refused
            private = sub | {"endpoint": "https://10.0.0.1/p"}
            assert (await client.post(SUBS, json=private)).status_code == 400
            assert (await client.post(SUBS, json=sub)).status_code == 201


async def test_dns_rebinding_at_send_is_refused_before_connecting(
    tmp_path, areas, meron_ids, connects, dns
) -> None:
    endpoint = PushEndpoint(tmp_path / "tls")
    area = meron_ids[0]
    writer = SalvoWriter(SQLiteEventStore(tmp_path / "s.db"), areas)
    with endpoint, _server(tmp_path, areas, endpoint) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            sub = endpoint.subscription([area], host=TEST_HOST)
            assert (await client.post(SUBS, json=sub)).status_code == 201
            # the name now points at a private address, then at loopback plus metadata
            for n, answer in enumerate((["10.0.0.1"], ["127.0.0.1", "169.254.169.254"]), 1):
                dns[TEST_HOST] = answer
                writer.event(f"rebind-{n}", "alert", [area])
                await _until_metric(client, _AT_SEND, n)
            assert endpoint.received == []
            # back to loopback: delivered, over a connection to the checked IP, Host the name
            dns[TEST_HOST] = ["127.0.0.1"]
            event = writer.event("honest", "alert", [area])
            await until(lambda: len(endpoint.received) == 1)
    headers, message = endpoint.received[0]
    assert message["seq"] == event.seq
    assert headers["host"] == f"{TEST_HOST}:{endpoint.port}"
    assert {host for host, port in connects if port == endpoint.port} == {"127.0.0.1"}
    assert {port for host, port in connects} == {endpoint.port, server.port}


async def test_only_the_secret_changes_or_deletes_a_subscription(tmp_path, areas, meron_ids):
    endpoint = PushEndpoint(tmp_path / "tls")
    with endpoint, _server(tmp_path, areas, endpoint, push_burst=100) as server:
        store = server.app.state.push.store
        async with httpx.AsyncClient(base_url=server.http) as client:
            sub = endpoint.subscription([meron_ids[0]])
            r = await client.post(SUBS, json=sub)
            assert r.status_code == 201
            made = r.json()
            url = f"{SUBS}/{made['id']}"
            owner = {"Authorization": f"Bearer {made['secret']}"}
            stranger = {"Authorization": "Bearer " + "A" * 43}
            # re-posting the endpoint (an attacker who saw it) does not overwrite it
            hijack = sub | {"areas": [meron_ids[5]]}
            assert (await client.post(SUBS, json=hijack)).status_code == 409
            assert store.subs[made["id"]].areas == [meron_ids[0]]
            change = {"areas": [meron_ids[1], meron_ids[2]]}
            assert (await client.put(url, json=change)).status_code == 401
            assert (await client.put(url, json=change, headers=stranger)).status_code == 401
            assert (await client.put(url, json={"areas": [-5]}, headers=owner)).status_code == 400
            assert store.subs[made["id"]].areas == [meron_ids[0]]
            r = await client.put(url, json=change, headers=owner)
            assert r.status_code == 200 and r.json() == {"id": made["id"]}
            assert store.subs[made["id"]].areas == change["areas"]
            assert (await client.delete(url)).status_code == 401
            assert (await client.delete(url, headers=stranger)).status_code == 401
            assert made["id"] in store.subs
            assert (await client.delete(url, headers=owner)).status_code == 204
            assert (await client.delete(url, headers=owner)).status_code == 404
            assert (await client.put(f"{SUBS}/nope", json=change, headers=owner)).status_code == 404
            # the endpoint is free again; its new secret is a different one
            again = await client.post(SUBS, json=sub)
            assert again.status_code == 201 and again.json()["secret"] != made["secret"]
    # at rest: the SHA-256 of the secret, never the secret
    db = sqlite3.connect(tmp_path / "s.db")
    (digest,) = db.execute("SELECT secret_sha256 FROM push_subscriptions").fetchone()
    db.close()
    assert bytes(digest) == hashlib.sha256(again.json()["secret"].encode()).digest()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert again.json()["secret"].encode() not in raw


async def test_changes_are_rate_limited_per_address(tmp_path, areas, meron_ids):
    endpoint = PushEndpoint(tmp_path / "tls")
    with endpoint, _server(tmp_path, areas, endpoint, push_burst=3, push_rate_per_min=1.0) as s:
        async with httpx.AsyncClient(base_url=s.http) as client:
            statuses = [(await client.post(SUBS, json={})).status_code for _ in range(3)]
            assert statuses == [400, 400, 400]
            r = await client.post(SUBS, json=endpoint.subscription([meron_ids[0]]))
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert (await client.delete(f"{SUBS}/x")).status_code == 429
            assert (await client.get("/v1/push/key")).status_code == 200  # reading is not limited
        # another address has its own bucket
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(base_url=s.http, transport=other) as client:
            r = await client.post(SUBS, json=endpoint.subscription([meron_ids[0]]))
            assert r.status_code == 201
            text = (await client.get("/metrics")).text
    assert _metric(text, 'redcolor_push_refused_total{reason="rate"}') == 2
    assert 'redcolor_rejected_requests_total{status="429"} 2.0' in text


async def test_the_number_of_subscriptions_is_capped(tmp_path, areas, meron_ids):
    endpoint = PushEndpoint(tmp_path / "tls")
    with endpoint, _server(tmp_path, areas, endpoint, push_max_subscriptions=2) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            made = []
            for token in ("a", "b"):
                r = await client.post(SUBS, json=endpoint.subscription([meron_ids[0]], token=token))
                assert r.status_code == 201
                made.append(r.json())
            third = endpoint.subscription([meron_ids[0]], token="c")
            r = await client.post(SUBS, json=third)
            assert r.status_code == 507 and "limit of 2" in r.json()["detail"]
            owner = {"Authorization": f"Bearer {made[0]['secret']}"}
            gone = await client.delete(f"{SUBS}/{made[0]['id']}", headers=owner)
            assert gone.status_code == 204
            assert (await client.post(SUBS, json=third)).status_code == 201
            text = (await client.get("/metrics")).text
    assert _metric(text, 'redcolor_push_refused_total{reason="cap"}') == 1
    assert _metric(text, "redcolor_push_subscriptions") == 2


async def test_the_registry_survives_a_restart(tmp_path, areas, meron_ids):
    endpoint = PushEndpoint(tmp_path / "tls")
    writer = SalvoWriter(SQLiteEventStore(tmp_path / "s.db"), areas)
    with endpoint:
        with _server(tmp_path, areas, endpoint) as server:
            async with httpx.AsyncClient(base_url=server.http) as client:
                key = (await client.get("/v1/push/key")).json()
                r = await client.post(SUBS, json=endpoint.subscription([meron_ids[0]]))
                made = r.json()
        with _server(tmp_path, areas, endpoint) as server:
            event = writer.event("after-restart", "alert", [meron_ids[0]])
            await until(lambda: len(endpoint.received) == 1)
            async with httpx.AsyncClient(base_url=server.http) as client:
                assert (await client.get("/v1/push/key")).json() == key
                owner = {"Authorization": f"Bearer {made['secret']}"}
                gone = await client.delete(f"{SUBS}/{made['id']}", headers=owner)
                assert gone.status_code == 204
                text = (await client.get("/metrics")).text
    assert endpoint.received[0][1]["seq"] == event.seq
    assert _metric(text, "redcolor_push_subscriptions") == 0
