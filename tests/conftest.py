"""Fixtures shared by every test directory: the event store backends.

``pg_url`` is a fresh database on the machine's PostgreSQL (127.0.0.1:5432, user postgres)
per test, dropped afterwards. A test that needs PostgreSQL FAILS, never skips, when it is not
reachable: the store's contract is checked on both backends or the run is not green.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
STORE_BACKENDS = ("sqlite", "postgresql")


def _admin(server: str) -> psycopg.Connection:
    try:
        return psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or ["no answer"])[0]
        pytest.fail(f"PostgreSQL at {server} is not reachable (start it): {first}", pytrace=False)


def fresh_database(server: str) -> Iterator[str]:
    """A new empty database on ``server`` (a URL without a database), dropped afterwards."""
    name = f"redcolor_test_{secrets.token_hex(6)}"
    with _admin(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with _admin(server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database's URL (dropped after the test)."""
    yield from fresh_database(PG_SERVER)


@pytest.fixture(params=STORE_BACKENDS)
def store_target(request, tmp_path) -> str:
    """An empty event store's target for :func:`redcolor.alerts.store.open_store`, once per
    backend: a SQLite file path, or a fresh PostgreSQL database's URL."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "alerts.db")
