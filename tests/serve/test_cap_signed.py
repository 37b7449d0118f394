"""Signed CAP (CAP 1.2 §3.3.2.1, enveloped XML-DSig): every message the server serves is signed
with the configured key, verifies with signxml's verifier against the certificate the server
publishes, still validates against the OASIS schema, and stays verifiable embedded in the Atom
index; conditional GET answers 304 for an unchanged message or index."""

from __future__ import annotations

import datetime
import time
from importlib import resources

import httpx
import pytest
import xmlschema
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLVerifier

from redcolor.channels import cap
from redcolor.errors import InputError
from redcolor.serve import feeds
from redcolor.serve.app import create_app

from .conftest import SalvoWriter, make_state

SCHEMA = xmlschema.XMLSchema(str(resources.files("redcolor.data") / "cap" / "CAP-v1.2.xsd"))


def _key_and_cert(tmp_path, kind: str):
    key = (
        rsa.generate_private_key(65537, 2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redcolor test CAP signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / f"{kind}.key", tmp_path / f"{kind}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.mark.parametrize("kind", ["rsa", "ec"])
async def test_every_message_is_signed_and_verifies_against_the_published_certificate(
    tmp_path, store, areas, writer, meron_ids, kind
) -> None:
    events = writer.lifecycle(meron_ids[:4])
    key, cert = _key_and_cert(tmp_path, kind)
    state = make_state(store, areas, cap_signing_key=key, cap_signing_cert=cert)
    state.follower.poll_once()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        published = (await client.get("/cap/certificate.pem")).content
        assert published == cert.read_bytes()
        for event in events:
            body = (await client.get(f"/cap/{event.seq}.xml")).content
            SCHEMA.validate(body)  # the Signature is the alert's last child, as the schema allows
            # served again, the same bytes (an EC signature is random per signing): same ETag
            assert (await client.get(f"/cap/{event.seq}.xml")).content == body
            result = XMLVerifier().verify(body, x509_cert=published.decode())
            identifier = result.signed_xml.findtext(f"{{{cap.CAP_NS}}}identifier")
            assert identifier.endswith(f"-{event.seq}")  # what was signed is the message
            tampered = body.replace(b"redcolor@localhost", b"evil@localhost", 1)
            with pytest.raises(Exception, match=r"(?i)digest|signature"):
                XMLVerifier().verify(tampered, x509_cert=published.decode())
        feed = (await client.get("/cap/feed.atom")).content
    # the index embeds the signed message, and it verifies there too once taken out
    root = etree.fromstring(feed)
    content = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    (alert,) = list(content)
    assert alert.tag == f"{{{cap.CAP_NS}}}alert"
    XMLVerifier().verify(etree.tostring(alert), x509_cert=published.decode())


async def test_no_certificate_without_signing_and_mismatched_keys_are_refused(
    tmp_path, store, areas
) -> None:
    state = make_state(store, areas)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/cap/certificate.pem")
    assert answer.status_code == 404 and "not signed" in answer.json()["detail"]
    key, _ = _key_and_cert(tmp_path, "rsa")
    _, other = _key_and_cert(tmp_path, "ec")
    with pytest.raises(InputError, match="not the key"):
        feeds.cap_signer(
            make_state(store, areas, cap_signing_key=key, cap_signing_cert=other).config
        )
    with pytest.raises(InputError, match="go together"):
        make_state(store, areas, cap_signing_key=key)
    with pytest.raises(InputError, match="bad CAP signing key"):
        cap.CapSigner(b"not a key", other.read_bytes())


async def test_unchanged_message_and_index_answer_304(store, areas, meron_ids) -> None:
    # events of an hour ago: a Last-Modified naming the running second would be weak (and is
    # never sent; see redcolor.serve.conditional), which would make the date check depend on
    # the clock's second turning between the two requests
    writer = SalvoWriter(store, areas, time.time() - 3600.0)
    events = writer.lifecycle(meron_ids[:3])
    state = make_state(store, areas)
    state.follower.poll_once()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        etags = {}
        for path in ("/cap/feed.atom", f"/cap/{events[1].seq}.xml"):
            first = await client.get(path)
            assert first.status_code == 200 and first.content
            etags[path] = first.headers["etag"]
            again = await client.get(path, headers={"If-None-Match": etags[path]})
            assert again.status_code == 304 and again.content == b""
            since = {"If-Modified-Since": first.headers["last-modified"]}
            assert (await client.get(path, headers=since)).status_code == 304
        # the index changes when the log grows; an old message does not
        writer.lifecycle(meron_ids[3:5])
        state.follower.poll_once()
        for path, status in (("/cap/feed.atom", 200), (f"/cap/{events[1].seq}.xml", 304)):
            answer = await client.get(path, headers={"If-None-Match": etags[path]})
            assert answer.status_code == status, path
