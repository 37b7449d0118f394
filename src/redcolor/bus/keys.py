"""Private key files: the core's Ed25519 signing key, the public key edges verify with, and
random secret keys (the user store's TOTP sealing key).

A private key lives in a file created with mode 0600 on first use (and refused when others may
read it, as ssh does). The signing key is PKCS#8 PEM; its public key is SubjectPublicKeyInfo
PEM, written beside it as ``FILE.pub`` when the key is made and printed by ``redcolor keys
public``. A secret key is 32 random bytes, written as 64 hex digits and a newline.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redcolor.errors import InputError

_MAX_KEY_FILE_BYTES = 16 << 10


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise InputError(f"{what} {path} is too large to be a key")
    return data


def _read_private(path: Path, what: str) -> bytes:
    """The bytes of a private key file; InputError if unreadable or open to other users."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{what} {path} is not a file (a directory?): give the key file's path")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"{what} {path} is open to other users (mode {stat.S_IMODE(mode):04o}); chmod 600 it"
        )
    return _read(path, what)


def _create_private(path: Path, data: bytes, what: str) -> None:
    """Write a new private key file (mode 0600; never over an existing one)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise InputError(f"cannot create {what} {path}: {exc.strerror or exc}") from None


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path``; InputError if unreadable, not Ed25519, or open to others."""
    data = _read_private(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"signing key {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"signing key {path} is not an Ed25519 key")
    return key


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``, made (0600, with ``path.pub`` beside it) if the file is missing."""
    if path.exists():
        return load_signing_key(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _create_private(path, pem, "signing key")
    try:
        path.with_name(path.name + ".pub").write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise InputError(f"cannot create signing key {path}: {exc.strerror or exc}") from None
    return key


SECRET_KEY_BYTES = 32


def load_secret_key(path: Path, what: str) -> bytes:
    """The 32-byte secret key in ``path``; InputError if unreadable, open to others or not 64
    hex digits."""
    text = _read_private(path, what).strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != SECRET_KEY_BYTES:
        raise InputError(f"{what} {path} is not {SECRET_KEY_BYTES * 2} hex digits")
    return key


def load_or_create_secret_key(path: Path, what: str) -> bytes:
    """:func:`load_secret_key`, the key made (random, 0600) if the file is missing."""
    if path.exists():
        return load_secret_key(path, what)
    key = os.urandom(SECRET_KEY_BYTES)
    try:
        _create_private(path, key.hex().encode("ascii") + b"\n", what)
    except InputError:
        if not path.exists():
            raise
        return load_secret_key(path, what)  # another process made it first
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The core's public key (PEM) an edge verifies with; InputError if it is not one."""
    data = _read(path, "verify key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"verify key {path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"verify key {path} is not an Ed25519 public key")
    return key


def public_key_pem(signing_key: Path) -> bytes:
    """The PEM public key of the signing key in ``signing_key`` (made if missing)."""
    return public_pem(load_or_create_signing_key(signing_key).public_key())
