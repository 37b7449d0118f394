"""Fixtures for the sim tests: the slow per-object reference module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def simref() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "reference" / "sim_reference.py"
    spec = importlib.util.spec_from_file_location("sim_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
