"""Where the alert log lives in NATS and how to log in there: checked before anything connects.

A bad URL, a password on the command line or in the URL, a missing password file or a file that
is no nkey seed is an InputError (one line, exit 2 on the CLI), never a background retry loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from redcolor.errors import InputError

_SCHEMES = ("nats", "tls")
NATS_PASSWORD_ENV = "REDCOLOR_NATS_PASSWORD"


def check_nats_url(url: str) -> str:
    """``url`` if it is ``nats://host[:port]`` or ``tls://host[:port]``, or several of them
    comma-separated (the nodes of a NATS cluster); else InputError.

    Credentials in the URL are refused: they would sit in the process list and shell history.
    """
    for one in url.split(","):
        _check_one_url(one)
    return url


def _check_one_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"bad NATS URL {url!r}: {exc}") from None
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise InputError(f"bad NATS URL {url!r}: expected nats://host:port or tls://host:port")
    if parts.username is not None or parts.password is not None:
        raise InputError("NATS credentials go in --nats-user/--nats-password-file, not the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment or port == 0:
        raise InputError(f"bad NATS URL {url!r}: expected nats://host:port or tls://host:port")


@dataclass(frozen=True)
class StreamSpec:
    """Where the log lives in JetStream, and how to log in to NATS."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "REDCOLOR"
    subject: str = "redcolor.events"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    nkey_seed_file: str | None = None
    timeout_s: float = 2.0
    replicas: int = 1
    """Copies of the stream a NATS cluster keeps (3 on a three-node cluster: one node may go)."""

    @property
    def servers(self) -> list[str]:
        """The cluster's nodes ``url`` names (nats-py learns the others from them)."""
        return self.url.split(",")

    @property
    def heartbeat_subject(self) -> str:
        """Where the leader's signed heartbeat goes (core NATS, not the stream)."""
        return f"{self.subject}.heartbeat"

    @property
    def login(self) -> str:
        if self.nkey_seed_file is not None:
            return f"the nkey of {self.nkey_seed_file}"
        return f"user {self.user!r}"


def check_nkey_seed(path: str) -> str:
    """``path`` if it holds an NATS user nkey seed (``SU...``); else InputError."""
    import nkeys  # what nats-py signs the server's nonce with

    try:
        with open(path, "rb") as f:
            seed = bytearray(f.read(4096).strip())
    except OSError as exc:
        raise InputError(f"cannot read NATS nkey seed {path}: {exc.strerror or exc}") from None
    try:
        nkeys.from_seed(seed).wipe()
    except (nkeys.NkeysError, ValueError, TypeError) as exc:
        raise InputError(f"{path} is not an NATS nkey seed") from exc
    return path


NATS_PASSWORD_ENV = "REDCOLOR_NATS_PASSWORD"


def configured_spec(
    url: str,
    *,
    user: str | None = None,
    password_file: Path | None = None,
    nkey_seed: Path | None = None,
    replicas: int = 1,
) -> StreamSpec:
    """The checked URL and NATS login: a user with the password from ``password_file`` or the
    ``REDCOLOR_NATS_PASSWORD`` environment variable (never the command line), or an nkey seed.
    InputError, before anything connects, for any of them wrong."""
    check_nats_url(url)
    password = os.environ.get(NATS_PASSWORD_ENV)
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read NATS password file {password_file}: {exc}") from None
    if (user is None) != (password is None):
        raise InputError(
            f"--nats-user needs a password (--nats-password-file or ${NATS_PASSWORD_ENV})"
            " and a password needs --nats-user"
        )
    if nkey_seed is not None and user is not None:
        raise InputError("log in to NATS with --nats-user or with --nats-nkey-seed, not both")
    seed = None if nkey_seed is None else check_nkey_seed(str(nkey_seed))
    if not 1 <= replicas <= 5:
        raise InputError(f"--nats-replicas {replicas}: JetStream keeps 1 to 5 copies")
    return StreamSpec(url=url, user=user, password=password, nkey_seed_file=seed, replicas=replicas)
