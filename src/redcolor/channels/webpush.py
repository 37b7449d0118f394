"""Web Push (RFC 8030 delivery, RFC 8291 aes128gcm encryption, RFC 8292 VAPID).

The pure parts: key handling, payload encryption for one subscription, and the request headers.
Each push carries ``Urgency: high``, a ``TTL`` and a ``Topic`` naming the area, so a push service
holding an undelivered alert for an area replaces it with the newer message (the all-clear).
"""

from __future__ import annotations

import base64
import logging
import os
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import http_ece
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02

from redcolor.channels.push_guard import parse_endpoint
from redcolor.errors import InputError

log = logging.getLogger("redcolor.push")
DEFAULT_TTL_S = 600
VAPID_SUBJECT = "mailto:alerts@redcolor.invalid"


class SubscriptionKeys(msgspec.Struct, frozen=True):
    p256dh: str
    auth: str


class Subscription(msgspec.Struct, frozen=True):
    """A browser PushSubscription (its JSON) plus the area ids it wants."""

    endpoint: str
    keys: SubscriptionKeys
    areas: list[int]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def validate(sub: Subscription) -> Subscription:
    """InputError unless the endpoint is spelled as ``push_guard.parse_endpoint`` requires (its
    addresses are checked apart, since that needs DNS) and the keys are a P-256 point and 16
    bytes."""
    parse_endpoint(sub.endpoint)
    try:
        point, auth = b64url_decode(sub.keys.p256dh), b64url_decode(sub.keys.auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InputError("subscription keys: p256dh must be a base64url P-256 point") from None
    if len(auth) != 16:
        raise InputError("subscription keys: auth must be 16 bytes, base64url")
    if not sub.areas:
        raise InputError("subscription areas: give at least one area id")
    return sub


def load_or_create_vapid(path: Path) -> Vapid02:
    """The server's VAPID key pair, made and saved (PEM) on first run.

    The private key file is created readable by its owner only (``os.open`` with mode 0600, so
    it is never readable by others, not even for a moment); a key file found readable by group
    or others is warned about and narrowed to 0600.
    """
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("VAPID key %s was readable by others (mode %o): now 0600", path, mode)
            path.chmod(0o600)
        return Vapid02.from_file(str(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    vapid = Vapid02()
    vapid.generate_keys()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(vapid.private_pem())
    return vapid


def application_server_key(vapid: Vapid02) -> str:
    """The public key browsers pass to ``PushManager.subscribe`` (base64url, uncompressed)."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return b64url(raw)


def encrypt(payload: bytes, sub: Subscription) -> bytes:
    """RFC 8291 aes128gcm body for ``sub`` (a fresh ephemeral key and salt per message)."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    body: bytes = http_ece.encrypt(
        payload,
        private_key=ephemeral,
        dh=b64url_decode(sub.keys.p256dh),
        auth_secret=b64url_decode(sub.keys.auth),
        version="aes128gcm",
    )
    return body


def headers(
    vapid: Vapid02, endpoint: str, topic: str, ttl_s: int = DEFAULT_TTL_S
) -> dict[str, str]:
    """RFC 8030 + 8292 request headers for one push."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + 12 * 3600,
        "sub": VAPID_SUBJECT,
    }
    out = {k: v for k, v in vapid.sign(claims).items()}
    out |= {
        "TTL": str(ttl_s),
        "Urgency": "high",
        "Topic": topic,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
    }
    return out


def topic_for(area_id: int) -> str:
    """RFC 8030 Topic: at most 32 base64url characters."""
    return f"area-{area_id}"
