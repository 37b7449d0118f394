"""The Web Push registry: one row per subscription in a table of the server's SQLite store file.

Each change touches its own row (insert, update, delete in one short transaction), so a change
costs the same with ten subscriptions or a hundred thousand, and a crash mid-change loses
nothing but that change. The table lives beside the event log in the same file, opened with its
own connection (WAL, ``synchronous=FULL``), so the registry survives a restart with the log.

Who may change a subscription: whoever holds the secret returned when it was made. The secret
is 32 random bytes (256 bits, ``secrets.token_urlsafe``); only its SHA-256 is stored. A slow
password hash (bcrypt, scrypt) exists to make guessing *human-chosen* passwords expensive; a
256-bit random secret cannot be guessed, so one SHA-256 is enough, and a stolen database gives
no one a usable secret. Comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from redcolor.channels import webpush
from redcolor.errors import AuthError, ConflictError, NotFoundError, StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_unix_s REAL NOT NULL,
    changed_unix_s REAL NOT NULL
)
"""
_DECODE = msgspec.json.Decoder(webpush.Subscription)


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class Created:
    """What a new subscription's owner is told once: its id and its secret."""

    id: str
    secret: str


class PushStore:
    """Subscriptions by id; ``subs`` mirrors the table (the sender reads it for each event)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            rows = self._db.execute("SELECT id, body FROM push_subscriptions").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the push registry in {self.path}: {exc}") from exc
        self.subs: dict[str, webpush.Subscription] = {i: _DECODE.decode(b) for i, b in rows}

    def add(self, sub: webpush.Subscription) -> Created:
        """Store a new subscription; ConflictError if its endpoint is subscribed already."""
        made = Created(id=secrets.token_urlsafe(16), secret=secrets.token_urlsafe(32))
        now = time.time()
        try:
            self._write(
                "INSERT INTO push_subscriptions VALUES (?, ?, ?, ?, ?, ?)",
                (
                    made.id,
                    sub.endpoint,
                    msgspec.json.encode(sub),
                    secret_digest(made.secret),
                    now,
                    now,
                ),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(
                "that endpoint is subscribed already: change it with its id and secret, or "
                "subscribe the browser again (a new endpoint)"
            ) from None
        self.subs[made.id] = sub
        return made

    def change_areas(self, sub_id: str, secret: str | None, areas: list[int]) -> None:
        """Give the subscription new areas (its owner only)."""
        sub = msgspec.structs.replace(self._owned(sub_id, secret), areas=areas)
        self._write(
            "UPDATE push_subscriptions SET body = ?, changed_unix_s = ? WHERE id = ?",
            (msgspec.json.encode(sub), time.time(), sub_id),
        )
        self.subs[sub_id] = sub

    def remove(self, sub_id: str, secret: str | None) -> None:
        """Delete the subscription (its owner only)."""
        self._owned(sub_id, secret)
        self.forget(sub_id)

    def forget(self, sub_id: str) -> None:
        """Delete the subscription without a secret: the push service said it is gone."""
        self._write("DELETE FROM push_subscriptions WHERE id = ?", (sub_id,))
        self.subs.pop(sub_id, None)

    def _owned(self, sub_id: str, secret: str | None) -> webpush.Subscription:
        sub = self.subs.get(sub_id)
        if sub is None:
            raise NotFoundError("no push subscription with that id")
        if secret is None:
            raise AuthError("give the subscription's secret: Authorization: Bearer <secret>")
        row = self._db.execute(
            "SELECT secret_sha256 FROM push_subscriptions WHERE id = ?", (sub_id,)
        ).fetchone()
        if row is None or not hmac.compare_digest(bytes(row[0]), secret_digest(secret)):
            raise AuthError("wrong secret for that push subscription")
        return sub

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the push registry in {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
