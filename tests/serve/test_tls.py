"""TLS: a real uvicorn server with a certificate made here; HSTS and the Secure cookie."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time

import httpx
import pytest
import uvicorn
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from redcolor.alerts.store import SQLiteEventStore
from redcolor.errors import InputError
from redcolor.serve.app import create_app
from redcolor.serve.run import check_tls, uvicorn_config
from redcolor.serve.state import ServeConfig

from .conftest import make_state
from .opsutil import PASSWORD, add_people


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_sends_hsts_and_a_secure_cookie(tmp_path, areas) -> None:
    cert, key = _self_signed(tmp_path)
    store = SQLiteEventStore(tmp_path / "tls.db")
    state = make_state(store, areas, tls_cert=cert, tls_key=key, poll_s=0.005)
    add_people(state)
    tls = check_tls(state.config)
    app = create_app(state)
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=0, tls=tls))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=trust) as c:
            r = await c.get("/v1/areas")
            assert r.status_code == 200
            assert r.headers["strict-transport-security"] == "max-age=31536000"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            r = await c.post("/v1/auth/login", json={"user": "sam", "password": PASSWORD})
            cookie = r.headers["set-cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
            csrf = r.json()["csrf"]
            origin = {"Origin": f"https://127.0.0.1:{port}", "X-CSRF-Token": csrf}
            r = await c.put("/v1/operator/mode", json={"mode": "exercise"}, headers=origin)
            assert r.status_code == 200, r.text  # the cookie over TLS, from our own origin
            plain = {"Origin": f"http://127.0.0.1:{port}", "X-CSRF-Token": csrf}
            r = await c.put("/v1/operator/mode", json={"mode": "live"}, headers=plain)
            assert r.status_code == 403  # http:// is another origin than https://
        async with websockets.connect(f"wss://127.0.0.1:{port}/v1/stream", ssl=trust) as ws:
            assert ws.protocol.state.name == "OPEN"
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_bad_tls_files_are_one_line(tmp_path) -> None:
    cert, key = _self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other_cert, _ = _self_signed(tmp_path / "other")
    db = tmp_path / "a.db"
    with pytest.raises(InputError, match="go together"):
        check_tls(ServeConfig(db=db, tls_cert=cert))
    with pytest.raises(InputError, match="cannot use --tls-cert"):
        check_tls(ServeConfig(db=db, tls_cert=tmp_path / "none.pem", tls_key=key))
    with pytest.raises(InputError, match="cannot use --tls-cert"):
        check_tls(ServeConfig(db=db, tls_cert=other_cert, tls_key=key))  # key of another cert
    assert check_tls(ServeConfig(db=db, tls_cert=cert, tls_key=key)) == (cert, key)
