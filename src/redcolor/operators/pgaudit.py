"""The audit records in PostgreSQL, beside a PostgreSQL event store (:mod:`.audit`).

The same rows and digest chain as the SQLite table. Appenders take the table's EXCLUSIVE lock
(readers still read) in the transaction that numbers and inserts a record, so with several
writers each ``seq`` is one more than the last and chains from it. Triggers refuse UPDATE,
DELETE and TRUNCATE, and are put back at every open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redcolor.alerts.pgstore import PgConnection
from redcolor.operators.audit import FIELDS

_SCHEMA = """
SELECT pg_advisory_xact_lock(1635083369);
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY,
    at_unix_s DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION redcolor_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP;
END $$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION redcolor_audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION redcolor_audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION redcolor_audit_append_only();
"""


class PgAudit:
    """The ``audit`` table of a PostgreSQL database (:class:`.audit.AuditRows`)."""

    def __init__(self, url: str) -> None:
        self._db = PgConnection(url, "audit log")
        self.path = self._db.path
        with self._db.using("open") as conn, conn.transaction():
            conn.execute(_SCHEMA.encode())

    def append(self, make_row: Callable[[tuple[int, str] | None], tuple[Any, ...]]) -> None:
        with self._db.using("write") as conn, conn.transaction():
            conn.execute("LOCK TABLE audit IN EXCLUSIVE MODE")
            last = conn.execute(
                "SELECT seq, digest FROM audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            conn.execute(
                f"INSERT INTO audit ({', '.join(FIELDS)})"
                f" VALUES ({', '.join(['%s'] * len(FIELDS))})",
                make_row(None if last is None else (int(last[0]), str(last[1]))),
            )

    def rows(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        with self._db.using("read") as conn:
            return conn.execute(
                f"SELECT {', '.join(FIELDS)} FROM audit WHERE seq > %s ORDER BY seq LIMIT %s",
                (after_seq, limit),
            ).fetchall()

    def close(self) -> None:
        self._db.close()
