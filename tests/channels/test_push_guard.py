"""The push address rule, the strict endpoint spelling, the guarded connection layer, the
subscription table and the VAPID key file's mode."""

from __future__ import annotations

import ipaddress
import logging
import stat

import pytest

from redcolor.channels import webpush
from redcolor.channels.push_guard import (
    EndpointPolicy,
    EndpointRefused,
    GuardedBackend,
    embedded_ipv4,
    parse_endpoint,
)
from redcolor.channels.push_store import PushStore, secret_digest
from redcolor.errors import AuthError, ConflictError, InputError, NotFoundError

REFUSED = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "198.18.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "240.0.0.1",
    "255.255.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "192.0.2.1",
    "203.0.113.5",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",
    "2002:a00:1::1",
    "::10.0.0.1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "142.250.185.202", "2606:4700:4700::1111", "2a00:1450::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address):
    assert EndpointPolicy().refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_pass(address):
    assert EndpointPolicy().refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_only_what_it_names():
    policy = EndpointPolicy.from_cidrs(["127.0.0.0/8", "fd00::/8"])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("fd00::5")) is None
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "private (RFC 1918)"
    assert "embeds 169.254.169.254" in policy.refusal(ipaddress.ip_address("64:ff9b::a9fe:a9fe"))
    with pytest.raises(InputError, match="not an IP range"):
        EndpointPolicy.from_cidrs(["10.0.0.0/33"])


def test_embedded_ipv4():
    assert str(embedded_ipv4(ipaddress.ip_address("::ffff:1.2.3.4"))) == "1.2.3.4"
    assert str(embedded_ipv4(ipaddress.ip_address("64:ff9b::102:304"))) == "1.2.3.4"
    assert str(embedded_ipv4(ipaddress.ip_address("2002:102:304::"))) == "1.2.3.4"
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1")) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
        "https://web.push.apple.com/QGm8xM?x=1",
        "https://push.example.org:8443/p",
        "https://8.8.8.8/p",
        "https://[2606:4700::1]:444/p",
    ],
)
def test_real_push_service_urls_parse(url):
    endpoint = parse_endpoint(url)
    assert url.endswith(endpoint.target) and endpoint.authority in url


def test_endpoint_parts():
    e = parse_endpoint("https://[2606:4700::1]:444/p?q=1")
    assert (e.host, e.port, e.target) == ("2606:4700::1", 444, "/p?q=1")
    assert e.authority == "[2606:4700::1]:444"
    assert parse_endpoint("https://Push.Example.org").authority == "push.example.org"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://8.8.8.8/p", "https"),
        ("ftp://8.8.8.8/p", "https"),
        ("https://user:pw@push.example.org/p", "user info"),
        ("https://push.example.org@127.0.0.1/p", "user info"),
        ("https://2130706433/p", "numeric"),
        ("https://0x7f000001/p", "numeric"),
        ("https://0x7f.0.0.1/p", "numeric"),
        ("https://0177.0.0.1/p", "numeric"),
        ("https://127.1/p", "numeric"),
        ("https://push.example.org./p", "dot"),
        ("https://[fe80::1%25eth0]/p", "zone"),
        ("https://[::1/p", "IPv6"),
        ("https://pûsh.example/p", "ASCII"),
        ("https://push.example.org\\@127.0.0.1/p", "backslash"),
        ("https://push.example.org:99999/p", "port"),
        ("https://push.example.org:0/p", "port"),
        ("https:///p", "host"),
        ("https://under_score.example/p", "DNS name"),
        ("https://push.example.org/p#frag", "fragment"),
        ("https://a.example/" + "p" * 3000, "longer"),
    ],
)
def test_odd_spellings_are_refused(url, why):
    with pytest.raises(EndpointRefused, match=why):
        parse_endpoint(url)


async def test_guarded_backend_refuses_before_connecting(monkeypatch):
    backend = GuardedBackend(EndpointPolicy())

    async def never(*args, **kwargs):
        raise AssertionError("connected")

    monkeypatch.setattr(backend._inner, "connect_tcp", never)
    for host in ("10.0.0.1", "169.254.169.254", "::1", "127.0.0.1", "localhost"):
        with pytest.raises(EndpointRefused, match="push refused"):
            await backend.connect_tcp(host, 443)
    with pytest.raises(EndpointRefused):
        await backend.connect_unix_socket("/run/redis.sock")


def _sub(endpoint: str = "https://push.example.org/p", areas=(1,)) -> webpush.Subscription:
    keys = webpush.SubscriptionKeys(p256dh="BP" + "A" * 85, auth="AAAAAAAAAAAAAAAAAAAAAA")
    return webpush.Subscription(endpoint=endpoint, keys=keys, areas=list(areas))


def test_push_store_changes_one_row_and_needs_the_secret(tmp_path):
    store = PushStore(tmp_path / "config.db")
    made = store.add(_sub())
    other = store.add(_sub("https://push.example.org/q"))
    with pytest.raises(ConflictError):
        store.add(_sub(areas=(9,)))
    with pytest.raises(AuthError):
        store.change_areas(made.id, None, [2])
    with pytest.raises(AuthError):
        store.change_areas(made.id, other.secret, [2])
    with pytest.raises(NotFoundError):
        store.remove("no-such-id", made.secret)
    store.change_areas(made.id, made.secret, [2, 3])
    store.remove(other.id, other.secret)
    store.close()
    again = PushStore(tmp_path / "config.db")
    assert again.subs == {made.id: _sub(areas=(2, 3))}
    (digest,) = again._db.execute("SELECT secret_sha256 FROM push_subscriptions").fetchone()
    assert bytes(digest) == secret_digest(made.secret) and len(made.secret) >= 43
    again.close()


def test_vapid_key_is_created_0600_and_an_open_one_is_narrowed(tmp_path, caplog):
    path = tmp_path / "push" / "vapid.pem"
    first = webpush.load_or_create_vapid(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="redcolor.push"):
        second = webpush.load_or_create_vapid(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text
    assert webpush.application_server_key(first) == webpush.application_server_key(second)
