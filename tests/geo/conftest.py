"""Fixtures for the geo tests: the shipped editions and the slow reference module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from redcolor.geo import AreaIndex, load_areas


@pytest.fixture(scope="session")
def areas() -> AreaIndex:
    return load_areas("current")


@pytest.fixture(scope="session")
def ref() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "reference" / "geo_reference.py"
    spec = importlib.util.spec_from_file_location("geo_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
