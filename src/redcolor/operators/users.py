"""Operator accounts: a name, a role, an argon2id password hash and an optional TOTP factor.

Passwords are hashed with argon2id through :class:`argon2.PasswordHasher` at its defaults
(memory-hard: 64 MiB, 3 passes, 4 lanes in argon2-cffi 25), because a human password has little
entropy and a stolen file must not let anyone try guesses cheaply. When the defaults of a newer
argon2-cffi differ from a stored hash's, the next successful login rehashes the password.

Every failure of :meth:`UserStore.verify` raises the same :class:`AuthError` message, and an
unknown name is checked against a dummy hash of the same parameters, so neither the answer nor
its time tells a caller which names exist. A disabled account's password is checked too before
it is refused, for the same reason.

The TOTP secret (RFC 6238, 30 s steps, 6 digits) cannot be hashed: the server computes the codes
from it. It is sealed instead (AES-256-GCM, a random 96-bit nonce per secret, the account name as
associated data, stored as ``gcm1:`` and base64) under a key kept in its own file, by default
beside the store (``DB.totp-key``; the server's and ``users``' ``--totp-key`` put it elsewhere, say
on a volume the database's backups do not copy): 32 random bytes as hex, mode 0600, made when first
needed. So a copy of the database alone (a backup, a dump, a stolen file) holds neither the
passwords nor the second factor. The name as associated data means a sealed secret copied onto
another account does not open. A secret stored before sealing (plain base32) is sealed when the
store is next opened. If the key file is lost (or open to others) while sealed secrets exist, no
new key is made (it would open none of them): the store still opens, so an alert server still
starts, :attr:`UserStore.key_problem` says what is wrong, and the logins that need the factor fail
as any failed login does until the file is restored; ``users add --totp`` is refused then. A code
is accepted one step early or late (clock drift) and each step at most once: the last step used is
kept, so a code seen over a shoulder or replayed from a log cannot be used again.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redcolor.auth.tokens import check_name
from redcolor.bus.keys import load_or_create_secret_key, load_secret_key
from redcolor.errors import AuthError, ConflictError, InputError, NotFoundError, StoreError
from redcolor.operators.tables import connect, end_sessions_of, write_transaction

ROLES = ("viewer", "operator", "supervisor", "admin")
"""Operator roles, lowest first: each may do what the ones before it may."""

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
TOTP_ISSUER = "redcolor"
TOTP_WINDOW_STEPS = 1
"""Codes of this many 30 s steps before or after now are accepted (clock drift)."""

FAILED = "wrong user name, password or code"
"""The one message of every failed verification."""

_COLUMNS = "name, role, totp_secret IS NOT NULL, created_unix_s, disabled_unix_s"
SEALED_PREFIX = "gcm1:"
"""How a sealed TOTP secret begins (a plain base32 secret never holds a colon)."""
_NONCE_BYTES = 12


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"bad role {role[:20]!r}: expected one of {', '.join(ROLES)}")
    return role


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` ranks at or above ``needed`` (both must be :data:`ROLES`)."""
    return ROLES.index(check_role(role)) >= ROLES.index(check_role(needed))


def check_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InputError(
            f"a password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            f" (got {len(password)})"
        )
    if not password.strip():
        raise InputError("a password cannot be only spaces")
    return password


@dataclass(frozen=True)
class User:
    """An operator account as shown (never its hash or TOTP secret)."""

    name: str
    role: str
    totp: bool
    created_unix_s: float
    disabled_unix_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _user(row: tuple[Any, ...]) -> User:
    name, role, totp, created, disabled = row
    return User(name, role, bool(totp), created, disabled)


def _matching_step(secret: str, code: str, now_unix_s: float) -> int | None:
    """The TOTP time step within the window whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(now_unix_s)
    found = None
    for step in range(now_step - TOTP_WINDOW_STEPS, now_step + TOTP_WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


class UserStore:
    """The ``operators`` table of one SQLite file (the event store's), by its own connection.

    ``key_path`` is the TOTP key file (default ``DB.totp-key``, beside the store).
    ``hasher`` defaults to argon2-cffi's own defaults; a different one is for tests of the
    rehash path only. ``key_problem`` is why TOTP logins cannot succeed (the key file is
    missing, open to others or broken; module docstring), or None: for the server to say at
    start.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        key_path: Path | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.path = str(path)
        self.key_path = key_path or Path(f"{self.path}.totp-key")
        self._db = connect(self.path, "user store")
        self._lock = threading.Lock()  # statements and transactions of threads never interleave
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        self._cipher: AESGCM | None = None
        self.key_problem = self._check_secrets()

    def _aead(self) -> AESGCM:
        """The sealing cipher, its key file read at first use; made only while no sealed
        secret exists (a new key would open none of them)."""
        if self._cipher is None:
            if self._query(f"SELECT 1 FROM operators WHERE totp_secret LIKE '{SEALED_PREFIX}%'"):
                key = load_secret_key(self.key_path, "TOTP key")
            else:
                key = load_or_create_secret_key(self.key_path, "TOTP key")
            self._cipher = AESGCM(key)
        return self._cipher

    def _seal(self, name: str, secret: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead().encrypt(nonce, secret.encode("ascii"), name.encode())
        return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")

    def _open_secret(self, name: str, stored: str) -> str | None:
        """The TOTP secret ``stored`` for ``name``; None if it does not open (another
        account's, another key's, or altered)."""
        if not stored.startswith(SEALED_PREFIX):
            return stored  # sealed by the next open of the store
        try:
            raw = base64.b64decode(stored[len(SEALED_PREFIX) :], validate=True)
            nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return self._aead().decrypt(nonce, sealed, name.encode()).decode("ascii")
        except (binascii.Error, InvalidTag, ValueError):
            return None

    def _check_secrets(self) -> str | None:
        """Seal every secret stored in plain (before sealing), in one transaction, and read
        the key of the sealed ones; what is wrong with the key file, if anything (one line):
        the store still opens, so the server starts and accounts without the factor log in,
        and a login that needs the key fails as any failed login does."""
        rows = self._query("SELECT name, totp_secret FROM operators WHERE totp_secret IS NOT NULL")
        plain = [(n, s) for n, s in rows if not s.startswith(SEALED_PREFIX)]
        try:
            if rows:
                self._aead()
        except InputError as exc:
            return f"TOTP logins will fail: {exc}"
        if plain:
            sealed = [(self._seal(n, s), n, s) for n, s in plain]
            with self._transaction() as db:
                db.executemany(
                    "UPDATE operators SET totp_secret = ? WHERE name = ? AND totp_secret = ?",
                    sealed,
                )
        return None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock (:func:`write_transaction`)."""
        with self._lock, write_transaction(self._db, f"user store {self.path}") as db:
            yield db

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use user store {self.path}: {exc}") from exc

    def add(
        self,
        name: str,
        role: str,
        password: str,
        *,
        totp: bool = False,
        now_unix_s: float | None = None,
    ) -> tuple[User, str | None]:
        """A new account; returns it and, with ``totp``, the provisioning URI (``otpauth://``,
        shown once for an authenticator app; the secret is not shown again)."""
        check_name(name)
        check_role(role)
        check_password(password)
        secret = pyotp.random_base32() if totp else None
        sealed = None if secret is None else self._seal(name, secret)
        created = time.time() if now_unix_s is None else now_unix_s
        digest = self._hasher.hash(password)
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO operators (name, role, password_hash, totp_secret, created_unix_s)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (name, role, digest, sealed, created),
                )
        except sqlite3.IntegrityError:
            raise ConflictError(
                f"an operator named {name} exists (disabled names stay taken)"
            ) from None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write user store {self.path}: {exc}") from exc
        uri = None
        if secret is not None:
            uri = pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)
        return User(name, role, totp, created), uri

    def list(self) -> list[User]:
        """Every account, disabled ones included, oldest first."""
        return [_user(r) for r in self._query(f"SELECT {_COLUMNS} FROM operators ORDER BY rowid")]

    def get(self, name: str) -> User:
        rows = self._query(f"SELECT {_COLUMNS} FROM operators WHERE name = ?", (name,))
        if not rows:
            raise NotFoundError(f"no operator named {name[:80]!r}")
        return _user(rows[0])

    def disable(self, name: str, *, now_unix_s: float | None = None) -> User:
        """Disable an account and end its live sessions, in one transaction. An account is
        never deleted (the audit log names it); NotFoundError when there is none,
        ConflictError when it is disabled already."""
        now = time.time() if now_unix_s is None else now_unix_s
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE operators SET disabled_unix_s = ?"
                " WHERE name = ? AND disabled_unix_s IS NULL",
                (now, name),
            ).rowcount
            end_sessions_of(db, name, now)
        user = self.get(name)
        if not changed:
            raise ConflictError(f"operator {user.name} is disabled already")
        return user

    def enable(self, name: str) -> User:
        """Let a disabled account log in again (its old sessions stay ended); NotFoundError
        when there is none, ConflictError when it is not disabled."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE operators SET disabled_unix_s = NULL"
                " WHERE name = ? AND disabled_unix_s IS NOT NULL",
                (name,),
            ).rowcount
        user = self.get(name)
        if not changed:
            raise ConflictError(f"operator {user.name} is not disabled")
        return user

    def set_role(self, name: str, role: str) -> User:
        """Give an account another role, effective at its sessions' next request (a session
        reads its user's role at each one); ConflictError when it has that role already."""
        check_role(role)
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE operators SET role = ? WHERE name = ? AND role != ?", (role, name, role)
            ).rowcount
        user = self.get(name)
        if not changed:
            raise ConflictError(f"operator {user.name} has the role {role} already")
        return user

    def set_password(
        self, name: str, password: str, *, now_unix_s: float | None = None
    ) -> tuple[User, int]:
        """Replace an account's password and end its live sessions, in one transaction (a
        password reset is often for a password someone else may know); the account and the
        number of sessions ended."""
        check_password(password)
        self.get(name)
        digest = self._hasher.hash(password)
        now = time.time() if now_unix_s is None else now_unix_s
        with self._transaction() as db:
            db.execute("UPDATE operators SET password_hash = ? WHERE name = ?", (digest, name))
            ended = end_sessions_of(db, name, now)
        return self.get(name), ended

    def set_totp(
        self, name: str, on: bool, *, now_unix_s: float | None = None
    ) -> tuple[User, str | None, int]:
        """Give an account a new TOTP factor (``on``: a lost or exposed authenticator; the old
        secret stops working) or remove it, and end its live sessions, in one transaction;
        the account, the new provisioning URI (shown once) and the number of sessions ended.
        A new factor is refused (InputError, one line) while the key file has a problem."""
        self.get(name)
        secret = pyotp.random_base32() if on else None
        sealed = None if secret is None else self._seal(name, secret)
        now = time.time() if now_unix_s is None else now_unix_s
        with self._transaction() as db:
            db.execute(
                "UPDATE operators SET totp_secret = ?, totp_last_step = NULL WHERE name = ?",
                (sealed, name),
            )
            ended = end_sessions_of(db, name, now)
        uri = None
        if secret is not None:
            uri = pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)
        return self.get(name), uri, ended

    def verify(
        self, name: str, password: str, totp: str | None, *, now_unix_s: float | None = None
    ) -> User:
        """The live account whose password (and TOTP code, when it has the factor) these are;
        AuthError(:data:`FAILED`) otherwise, whatever the reason."""
        rows = self._query(
            f"SELECT {_COLUMNS}, password_hash, totp_secret, totp_last_step"
            " FROM operators WHERE name = ?",
            (name[:200],),
        )
        stored = rows[0][5] if rows else self._dummy_hash
        candidate = password if len(password) <= MAX_PASSWORD_CHARS else ""
        try:
            password_ok = self._hasher.verify(stored, candidate) and bool(rows) and bool(password)
        except (VerificationError, InvalidHashError):
            password_ok = False
        if not password_ok:
            raise AuthError(FAILED)
        user = _user(rows[0][:5])
        if user.disabled_unix_s is not None:
            raise AuthError(FAILED)
        kept, last_step = rows[0][6], rows[0][7]
        if kept is not None:
            try:
                secret = self._open_secret(user.name, kept)
            except InputError:  # the key file (UserStore.key_problem): fail closed
                secret = None
            if secret is None:
                raise AuthError(FAILED)
            self._use_code(user.name, secret, last_step, totp, now_unix_s)
        if self._hasher.check_needs_rehash(stored):
            self._query(
                "UPDATE operators SET password_hash = ? WHERE name = ?",
                (self._hasher.hash(password), user.name),
            )
        return user

    def _use_code(
        self,
        name: str,
        secret: str,
        last_step: int | None,
        code: str | None,
        now_unix_s: float | None,
    ) -> None:
        """Accept ``code`` once: the step it matches must be later than the last one used,
        and is recorded in the same statement that checks it (two logins racing with one code:
        only one updates the row)."""
        now = time.time() if now_unix_s is None else now_unix_s
        text = (code or "").strip()
        step = _matching_step(secret, text, now) if text.isdigit() and len(text) == 6 else None
        if step is None or (last_step is not None and step <= last_step):
            raise AuthError(FAILED)
        try:
            with self._lock:
                used = self._db.execute(
                    "UPDATE operators SET totp_last_step = ? WHERE name = ?"
                    " AND (totp_last_step IS NULL OR totp_last_step < ?)",
                    (step, name, step),
                ).rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write user store {self.path}: {exc}") from exc
        if used != 1:
            raise AuthError(FAILED)

    def close(self) -> None:
        self._db.close()
