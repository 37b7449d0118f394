"""API tokens for machine clients (sirens, edge servers, sensors), kept in the event store's file.

A token reads ``rc_<id>_<secret>``: ``id`` is 12 hex digits, public, and only finds the row;
``secret`` is 256 random bits (64 hex digits) and is never stored. The ``tokens`` table holds
``sha256(secret)``, compared in constant time (:func:`hmac.compare_digest`).

Why a plain SHA-256 and not a slow password hash (scrypt, argon2): slow hashes exist to make
guessing a *low-entropy* human password from a stolen digest expensive. A 256-bit uniformly random
secret cannot be guessed whatever the hash costs (2^255 tries on average), so the stretching would
buy nothing and would cost every connection milliseconds of CPU, which matters when hundreds of
sirens reconnect at once after an outage. The digest alone, stolen with the database file, does
not let anyone connect.

A token has a ``role`` (:data:`ROLES`) and, for sirens, the areas it may cover. Its ``name`` is
the client's identity: a siren token's name is the siren id it may connect as. At most one live
(unrevoked) token carries a name; revoking it takes effect at the next check (:meth:`live_ids`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redcolor.errors import AuthError, ForbiddenError, InputError, NotFoundError, StoreError

ROLES = ("siren", "edge", "sensor")
MAX_AREAS = 2000  # a siren covering more than this is a mistake, not a siren
NAME_PATTERN = "[A-Za-z0-9_-]{1,64}"
"""A client's or an operator's name: 1-64 letters, digits, '-' or '_'."""
_NAME = re.compile(NAME_PATTERN)
_TOKEN = re.compile(r"rc_([0-9a-f]{12})_([0-9a-f]{64})")
_MAX_HEADER_CHARS = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    areas TEXT,
    digest BLOB NOT NULL,
    created_unix_s REAL NOT NULL,
    revoked_unix_s REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_live_name ON tokens (name) WHERE revoked_unix_s IS NULL;
"""
_COLUMNS = "id, name, role, areas, created_unix_s, revoked_unix_s"


@dataclass(frozen=True)
class Credential:
    """What a token proves, as stored (never the secret). ``areas`` None means no binding."""

    token_id: str
    name: str
    role: str
    areas: frozenset[int] | None
    created_unix_s: float
    revoked_unix_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["areas"] = None if self.areas is None else sorted(self.areas)
        return out


def check_name(name: str) -> str:
    """A client name (a siren id): 1-64 letters, digits, '-' or '_'."""
    if not _NAME.fullmatch(name):
        raise InputError(f"bad name {name[:80]!r}: use 1-64 letters, digits, '-' or '_'")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"bad role {role[:20]!r}: expected one of {', '.join(ROLES)}")
    return role


def parse_area_list(text: str) -> frozenset[int]:
    """``"175,176"`` -> the set of ids (syntax only; :func:`add_token` checks them exist)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > MAX_AREAS:
        raise InputError(f"--areas needs 1 to {MAX_AREAS} area ids, like 175,176")
    for part in parts:
        if not part.isdigit() or len(part) > 9:
            raise InputError(f"bad area id {part[:20]!r} in --areas: expected ids like 175,176")
    return frozenset(int(p) for p in parts)


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; AuthError when absent."""
    if not header:
        raise AuthError("missing Authorization: Bearer <token>")
    scheme, _, token = header[:_MAX_HEADER_CHARS].partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must read 'Bearer <token>'")
    return token.strip()


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class TokenStore:
    """The ``tokens`` table of one SQLite file (the event store's), opened by its own connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open token store {self.path}: {exc}") from exc

    def _row(self, row: tuple[Any, ...]) -> Credential:
        token_id, name, role, areas, created, revoked = row
        bound = None if areas is None else frozenset(json.loads(areas))
        return Credential(token_id, name, role, bound, created, revoked)

    def add(
        self, name: str, role: str, areas: frozenset[int] | None, now_unix_s: float | None = None
    ) -> tuple[Credential, str]:
        """A new token; returns its credential and the token text (shown once, never stored)."""
        check_name(name)
        check_role(role)
        if role == "siren" and not areas:
            raise InputError("a siren token needs --areas: the area ids the siren covers")
        token_id, secret = secrets.token_hex(6), secrets.token_hex(32)
        created = time.time() if now_unix_s is None else now_unix_s
        try:
            self._db.execute(
                f"INSERT INTO tokens ({_COLUMNS}, digest) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (
                    token_id,
                    name,
                    role,
                    None if areas is None else json.dumps(sorted(areas)),
                    created,
                    _digest(secret),
                ),
            )
        except sqlite3.IntegrityError:
            raise InputError(f"a live token named {name} exists; revoke it first") from None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write token store {self.path}: {exc}") from exc
        return Credential(token_id, name, role, areas, created), f"rc_{token_id}_{secret}"

    def list(self) -> list[Credential]:
        """Every token, revoked ones included, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY created_unix_s, id")
        return [self._row(r) for r in rows.fetchall()]

    def revoke(self, name: str, now_unix_s: float | None = None) -> Credential:
        """Revoke the live token named ``name``; NotFoundError when there is none."""
        now = time.time() if now_unix_s is None else now_unix_s
        try:
            row = self._db.execute(
                f"UPDATE tokens SET revoked_unix_s = ? WHERE name = ? AND revoked_unix_s IS NULL"
                f" RETURNING {_COLUMNS}",
                (now, name),
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write token store {self.path}: {exc}") from exc
        if row is None:
            raise NotFoundError(f"no live token named {name[:80]!r}")
        return self._row(row)

    def authenticate(self, token: str, *roles: str) -> Credential:
        """The live credential of ``token``; AuthError if unknown, wrong or revoked,
        ForbiddenError if it is valid but of none of ``roles``."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise AuthError("malformed token: expected rc_<id>_<secret>")
        token_id, secret = match.groups()
        try:
            row = self._db.execute(
                f"SELECT {_COLUMNS}, digest FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read token store {self.path}: {exc}") from exc
        given = _digest(secret)
        if row is None or not hmac.compare_digest(bytes(row[-1]), given):
            raise AuthError("unknown or wrong token")
        credential = self._row(row[:-1])
        if credential.revoked_unix_s is not None:
            raise AuthError("this token was revoked")
        if credential.role not in roles:
            raise ForbiddenError(f"a {credential.role} token cannot be used here")
        return credential

    def live_ids(self, token_ids: set[str]) -> set[str]:
        """Which of ``token_ids`` are still unrevoked (one indexed query)."""
        if not token_ids:
            return set()
        marks = ",".join("?" * len(token_ids))
        rows = self._db.execute(
            f"SELECT id FROM tokens WHERE revoked_unix_s IS NULL AND id IN ({marks})",
            sorted(token_ids),
        )
        return {r[0] for r in rows.fetchall()}

    def live_names(self, role: str) -> list[str]:
        """Names of the live tokens of ``role``, sorted."""
        rows = self._db.execute(
            "SELECT name FROM tokens WHERE revoked_unix_s IS NULL AND role = ? ORDER BY name",
            (role,),
        )
        return [r[0] for r in rows.fetchall()]

    def close(self) -> None:
        self._db.close()


def authorize_siren(
    credential: Credential, siren: str | None, areas: frozenset[int] | None
) -> tuple[str, frozenset[int]]:
    """The siren id and areas a siren credential may connect with.

    ``siren`` (when given) must be the token's own name and ``areas`` (when given) a subset of
    its bound areas; omitted, they default to the token's name and all its areas.
    """
    bound = credential.areas or frozenset()
    if siren is not None and siren != credential.name:
        raise ForbiddenError(f"this token belongs to siren {credential.name}, not {siren[:64]}")
    wanted = bound if areas is None else areas
    outside = sorted(wanted - bound)
    if outside:
        raise ForbiddenError(
            f"siren {credential.name} is not bound to area {outside[0]}"
            + (f" and {len(outside) - 1} more" if len(outside) > 1 else "")
        )
    if not wanted:
        raise ForbiddenError(f"siren {credential.name} is bound to no area")
    return credential.name, wanted
