"""Fixtures shared by every test directory: the event store backends."""

from __future__ import annotations

import pytest

STORE_BACKENDS = ("sqlite",)


@pytest.fixture(params=STORE_BACKENDS)
def store_target(request, tmp_path) -> str:
    """An empty event store's target for :func:`redcolor.alerts.store.open_store`, once per
    backend: a SQLite file path, or a fresh PostgreSQL database's URL."""
    return str(tmp_path / "alerts.db")
