"""Fixtures for the bus tests: a nats-server with users and permissions of the tests' own."""

import pytest

from .natsd import NatsServer


@pytest.fixture
def natsd(tmp_path):
    with NatsServer(tmp_path / "natsd") as server:
        yield server
