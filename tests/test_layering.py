"""Data flows one way: a stage imports only the stages to its left and the shared modules."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "redcolor"
ORDER = [
    "geo",
    "sim",
    "tracking",
    "prediction",
    "warning",
    "alerts",
    "auth",
    "bus",
    "channels",
    "pipeline",
    "serve",
    "eval",
    "cli",
]
SHARED = {"model", "errors", "__init__", "data"}


def _imported_stages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "redcolor" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("stage", ORDER)
def test_stage_imports_only_leftward(stage: str) -> None:
    allowed = set(ORDER[: ORDER.index(stage) + 1]) | SHARED
    for path in sorted((SRC / stage).rglob("*.py")):
        bad = _imported_stages(path) - allowed
        assert not bad, f"{path.relative_to(SRC)} reaches right to {sorted(bad)}"


def test_every_package_is_a_known_stage() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(ORDER), sorted(packages - set(ORDER))
