"""Fixtures shared by every test directory: the event store backends and their faults.

``pg_url`` is a fresh database on the machine's PostgreSQL (127.0.0.1:5432, user postgres)
per test, dropped afterwards. A test that needs PostgreSQL FAILS, never skips, when it is not
reachable: the store's contract is checked on both backends or the run is not green.
``own_postgres`` and ``small_disk`` are the faults' (a private server to restart, a disk to
fill): see tests/pgserver.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from .pgserver import PrivatePostgres, private_postgres, small_tmpfs

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


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own (tests/pgserver.py), started: the test may
    ``stop()``, ``start()`` or ``restart()`` it, and make databases on it with ``database()``
    (``tablespace_dir=`` a :func:`small_disk` to fill). Never the machine's shared one."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """An 8 MB tmpfs (root only): a disk the store fills, as its SQLite directory or as a
    PostgreSQL tablespace."""
    with small_tmpfs("8m") as where:
        yield where
