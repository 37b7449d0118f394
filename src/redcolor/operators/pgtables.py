""":class:`~redcolor.operators.tables.Statements` on PostgreSQL, beside a PostgreSQL event
store: the same single statements, ``?`` placeholders turned into psycopg's, over one
:class:`~redcolor.alerts.pgstore.PgConnection` (a lost connection fails that call, one line, and
the next one reconnects). The schema is created at open under an advisory lock, so cores that
start together do not race to create it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redcolor.alerts.pgstore import PgConnection
from redcolor.operators.tables import Result

_SCHEMA_LOCK = 1635083370
"""Advisory lock key held while a schema is created (the audit log's is the one before)."""


class PgStatements:
    """:class:`~redcolor.operators.tables.Statements` on the PostgreSQL database ``url``."""

    def __init__(self, url: str, schema: str, what: str) -> None:
        self._db = PgConnection(url, what)
        self.path = self._db.path
        with self._db.using("open") as conn, conn.transaction():
            conn.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
            conn.execute(schema.encode())

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        # the statements are this package's own: a literal % is escaped, ? is a parameter
        query = sql.replace("%", "%%").replace("?", "%s")
        with self._db.using("use") as conn:
            cursor = conn.execute(query.encode(), tuple(args))
            rows = cursor.fetchall() if cursor.description else []
            return Result(rows, cursor.rowcount)

    def close(self) -> None:
        self._db.close()
