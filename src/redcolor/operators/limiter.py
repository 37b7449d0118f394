"""Login rate limit: failed logins counted per user name and per client address.

A sliding window per key: a user name with ``per_user`` failures in the last ``window_s``, or an
address with ``per_address``, is refused until the oldest of those failures leaves the window,
whatever the password (so guessing cannot go on behind the refusal). The per-name limit stops a
slow guess at one account from many addresses; the per-address one a sweep over many names from
one host. A success clears its user name's failures, not its address's: one valid account must
not reset a host's count.

The failures are rows of the ``login_failures`` table of the event store (``target``: the
server's SQLite file, or with ``--store`` the PostgreSQL database its cores share), so the
limit holds across a restart and across the cores of a group: with a count per process, N cores
gave an attacker N times the tries. Without a target (a test, a store-less tool) the table is
an in-memory SQLite one. The table stays small: each failure deletes the rows that have left
the window, and beyond ``max_rows`` the oldest (a flood from very many addresses can thus push
out the count of a name; the argon2 cost of every try still stands).
"""

from __future__ import annotations

import math

from redcolor.errors import InputError, LimitError
from redcolor.operators.tables import open_statements

MAX_KEY_CHARS = 100
_USER, _ADDRESS = "user", "address"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at_unix_s {time} NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (kind, key, at_unix_s);
CREATE INDEX IF NOT EXISTS login_failures_at ON login_failures (at_unix_s);
"""
"""``{time}``: a unix time's column type (PostgreSQL's REAL is 4 bytes)."""


class LoginLimiter:
    """Counts failed logins; :meth:`check` before verifying, :meth:`failed` or
    :meth:`succeeded` after. Thread-safe; StoreError (one line) when the store fails."""

    def __init__(
        self,
        target: str | None = None,
        *,
        per_user: int = 5,
        per_address: int = 20,
        window_s: float = 900.0,
        max_rows: int = 100_000,
    ) -> None:
        if per_user < 1 or per_address < 1 or window_s <= 0 or max_rows < 1:
            raise InputError("login limits, window and row cap must be positive")
        self._limits = {_USER: per_user, _ADDRESS: per_address}
        self.window_s, self.max_rows = window_s, max_rows
        self._db = open_statements(
            target or ":memory:",
            _SCHEMA.format(time="REAL"),
            _SCHEMA.format(time="DOUBLE PRECISION"),
            "login limiter",
        )

    def _retry_after_s(self, kind: str, key: str, now_unix_s: float) -> float:
        """Seconds until ``key`` may try again (0 when it may now): the oldest of its last
        ``limit`` failures in the window, once there are that many, leaves it."""
        limit = self._limits[kind]
        rows = self._db.execute(
            "SELECT at_unix_s FROM login_failures WHERE kind = ? AND key = ? AND at_unix_s > ?"
            " ORDER BY at_unix_s DESC LIMIT ?",
            (kind, key[:MAX_KEY_CHARS], now_unix_s - self.window_s, limit),
        ).fetchall()
        if len(rows) < limit:
            return 0.0
        return float(rows[-1][0]) + self.window_s - now_unix_s

    def check(self, user: str, address: str, now_unix_s: float) -> None:
        """LimitError with ``retry_after_s`` when this name or this address is over its limit."""
        wait_s = max(
            self._retry_after_s(_USER, user, now_unix_s),
            self._retry_after_s(_ADDRESS, address, now_unix_s),
        )
        if wait_s > 0:
            raise LimitError(f"too many failed logins; try again in {math.ceil(wait_s)} s", wait_s)

    def failed(self, user: str, address: str, now_unix_s: float) -> None:
        self._db.execute(
            "DELETE FROM login_failures WHERE at_unix_s <= ?", (now_unix_s - self.window_s,)
        )
        for kind, key in ((_USER, user), (_ADDRESS, address)):
            self._db.execute(
                "INSERT INTO login_failures (kind, key, at_unix_s) VALUES (?, ?, ?)",
                (kind, key[:MAX_KEY_CHARS], now_unix_s),
            )
        self._db.execute(
            "DELETE FROM login_failures WHERE at_unix_s < (SELECT at_unix_s FROM login_failures"
            " ORDER BY at_unix_s DESC LIMIT 1 OFFSET ?)",
            (self.max_rows - 1,),
        )

    def succeeded(self, user: str, address: str) -> None:
        """Forget ``user``'s failures (``address``'s stay: see the module docstring)."""
        self._db.execute(
            "DELETE FROM login_failures WHERE kind = ? AND key = ?", (_USER, user[:MAX_KEY_CHARS])
        )

    def tracked(self) -> tuple[int, int]:
        """How many user names and addresses are being counted (bound checks)."""
        rows = dict(
            self._db.execute(
                "SELECT kind, count(DISTINCT key) FROM login_failures GROUP BY kind"
            ).fetchall()
        )
        return int(rows.get(_USER, 0)), int(rows.get(_ADDRESS, 0))

    def close(self) -> None:
        self._db.close()
