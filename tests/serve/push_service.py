"""A real push service for the tests: HTTPS (a CA and a certificate made here with
`cryptography`) on 127.0.0.1, decrypting each message with the subscriber's keys (RFC 8291)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import threading
import time
from pathlib import Path

import http_ece
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TEST_HOST = "push.example"
"""A name only the tests' resolver knows (the certificate is also valid for it)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for 127.0.0.1, localhost and ``TEST_HOST``:
    (ca.pem, cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redcolor test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                    x509.DNSName(TEST_HOST),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class PushEndpoint:
    """A push service stand-in over HTTPS: decrypts with the subscriber's private key."""

    def __init__(self, tls_dir: Path, refusals: tuple[int, ...] = ()) -> None:
        self.ca, cert, key = make_tls(tls_dir)
        self.ua_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = b"0123456789abcdef"
        self.received: list[tuple[dict, dict]] = []
        self.refusals = list(refusals)  # statuses answered, in turn, before accepting
        self.attempts = 0
        self.held: set[str] = set()  # tokens whose pushes get no answer until released
        self.holding = 0  # pushes waiting for an answer now
        self.by_token: dict[str, list[dict]] = {}  # messages accepted, per endpoint token

        async def receive(request: Request) -> Response:
            self.attempts += 1
            token = request.path_params["token"]
            if token in self.held:  # answered 503 once released: never accepted
                self.holding += 1
                while token in self.held:
                    await asyncio.sleep(0.01)
                self.holding -= 1
                return Response(status_code=503)
            if self.refusals:
                return Response(status_code=self.refusals.pop(0), headers={"Retry-After": "0"})
            body = await request.body()
            plain = http_ece.decrypt(
                body, private_key=self.ua_key, auth_secret=self.auth, version="aes128gcm"
            )
            self.received.append((dict(request.headers), json.loads(plain)))
            self.by_token.setdefault(token, []).append(json.loads(plain))
            return Response(status_code=201)

        app = Starlette(routes=[Route("/push/{token}", receive, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=0,
                log_level="warning",
                ssl_certfile=str(cert),
                ssl_keyfile=str(key),
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> PushEndpoint:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def url(self, host: str = "127.0.0.1", token: str = "abc") -> str:
        return f"https://{host}:{self.port}/push/{token}"

    def subscription(self, areas: list[int], host: str = "127.0.0.1", token: str = "abc") -> dict:
        point = self.ua_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "endpoint": self.url(host, token),
            "keys": {"p256dh": _b64(point), "auth": _b64(self.auth)},
            "areas": areas,
        }

    def config(self) -> dict:
        """ServeConfig settings that let a server push here (loopback allowed, our CA)."""
        return {"push_allow": ("127.0.0.0/8",), "push_ca_file": self.ca}
