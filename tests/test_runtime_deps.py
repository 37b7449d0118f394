"""pyproject's runtime dependencies are exactly what src/redcolor imports.

A runtime dependency nothing imports is weight every install carries (and a claim, such as a
database driver, that the code does not keep); an import no runtime dependency provides works
here only because something else pulled it in. Test-only packages belong in the ``test`` extra.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "redcolor"

# Distribution name -> the top-level module it is imported as, where the two differ.
IMPORT_NAMES = {
    "argon2-cffi": "argon2",
    "http-ece": "http_ece",
    "nats-py": "nats",
    "prometheus-client": "prometheus_client",
    "py-vapid": "py_vapid",
}
# Dependencies the code uses without importing them by name: the text in src/ that uses each.
USED_BY_NAME = {
    "uvloop": 'loop="uvloop"',  # uvicorn.Config(loop="uvloop") imports it
}


def _distribution(requirement: str) -> str:
    """``"uvicorn[standard]>=0.30"`` -> ``"uvicorn"`` (lower case, ``_`` as ``-``)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def runtime_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_distribution(r) for r in project["dependencies"]}


def imported_modules(root: Path = SRC) -> set[str]:
    """Top-level names of every absolute import under ``root`` (at any depth of a module:
    the CLI imports lazily inside functions), less the standard library and redcolor."""
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "redcolor"}


def _source_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))


def test_every_runtime_dependency_is_used_by_the_runtime() -> None:
    imported = imported_modules()
    source = _source_text()
    unused = []
    for dist in sorted(runtime_dependencies()):
        if dist in USED_BY_NAME:
            if USED_BY_NAME[dist] not in source:
                unused.append(dist)
        elif IMPORT_NAMES.get(dist, dist.replace("-", "_")) not in imported:
            unused.append(dist)
    assert not unused, f"runtime dependencies src/redcolor never uses: {unused}"


def test_every_import_is_a_runtime_dependency() -> None:
    provided = {IMPORT_NAMES.get(d, d.replace("-", "_")) for d in runtime_dependencies()}
    undeclared = sorted(imported_modules() - provided)
    assert not undeclared, (
        f"src/redcolor imports these, but pyproject does not list them: {undeclared}"
    )


def test_the_checker_sees_lazy_and_from_imports(tmp_path) -> None:
    (tmp_path / "m.py").write_text(
        "import os\nfrom numpy import linalg\n\ndef f():\n    import shapely.geometry\n"
        "    from . import sibling\n    from redcolor.geo import load_areas\n"
    )
    assert imported_modules(tmp_path) == {"numpy", "shapely"}
    assert _distribution("uvicorn[standard]>=0.30") == "uvicorn"
    assert _distribution("uvloop>=0.19; sys_platform != 'win32'") == "uvloop"
