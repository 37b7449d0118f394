"""Fixtures for the bus tests: a nats-server with users and permissions of the tests' own."""

from __future__ import annotations

import pytest

from .natsd import NatsServer


@pytest.fixture
def natsd(tmp_path):
    server = NatsServer(tmp_path / "natsd")
    server.start()
    yield server
    server.stop()
