"""Data flows one way: each package imports only the packages its entry in ``ALLOWED`` names.

The checker sees every way one module of ``redcolor`` can load another: ``import redcolor.x``,
``from redcolor import x``, ``from redcolor.x import y``, relative imports (``from . import y``,
``from ..x import y``) and string imports (``importlib.import_module("redcolor.x")``,
``__import__``, ``importlib.resources.files("redcolor.x")``), at module level, inside functions
and under ``if TYPE_CHECKING:``. A string import it cannot read (not a literal) is an error, so
nothing slips past unseen. The checker is itself tested on small synthetic sources.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "redcolor"

SHARED = frozenset({"model", "errors", "data", "__init__"})
"""Modules every package may use: the shared types, the typed errors, packaged data and the
root ``redcolor`` module (``__version__``)."""

ALLOWED: dict[str, frozenset[str]] = {
    "model": frozenset(),
    "errors": frozenset(),
    "geo": frozenset(),
    "physics": frozenset({"geo"}),
    "sensors": frozenset({"geo", "physics"}),
    "sim": frozenset({"geo", "physics", "sensors"}),
    "tracking": frozenset({"geo", "physics"}),
    "prediction": frozenset({"geo", "physics", "tracking"}),
    "warning": frozenset({"geo", "physics", "tracking", "prediction"}),
    "alerts": frozenset({"geo", "physics", "tracking", "prediction", "warning"}),
    "auth": frozenset({"geo"}),
    "bus": frozenset({"geo", "alerts", "auth"}),
    "channels": frozenset({"geo", "alerts", "auth", "bus"}),
    "operators": frozenset({"geo", "alerts", "auth", "bus", "channels"}),
    # The composition stages: they may fly the simulator (``run(scenario)``, ``serve --simulate``).
    "pipeline": frozenset(
        {"geo", "physics", "sensors", "sim", "tracking", "prediction", "warning", "alerts"}
    ),
    "serve": frozenset(
        {
            "geo",
            "physics",
            "sensors",
            "sim",
            "tracking",
            "prediction",
            "warning",
            "alerts",
            "auth",
            "bus",
            "channels",
            "operators",
            "pipeline",
        }
    ),
    "eval": frozenset(
        {
            "geo",
            "physics",
            "sensors",
            "sim",
            "tracking",
            "prediction",
            "warning",
            "alerts",
            "pipeline",
        }
    ),
    "cli": frozenset(
        {
            "geo",
            "physics",
            "sensors",
            "sim",
            "tracking",
            "prediction",
            "warning",
            "alerts",
            "auth",
            "bus",
            "channels",
            "operators",
            "pipeline",
            "serve",
            "eval",
        }
    ),
}
"""Per package (or shared module), the other packages it may import besides :data:`SHARED`."""

LIVE = (
    "physics",
    "sensors",
    "tracking",
    "prediction",
    "warning",
    "alerts",
    "auth",
    "bus",
    "channels",
    "operators",
)
"""The stages a live core runs on real sensor data: none may reach the simulator, even through
another package."""

STRING_IMPORTERS = frozenset({"import_module", "__import__", "files"})
"""Calls whose first argument names a module to load (``importlib``, builtins,
``importlib.resources``)."""


def _package(dotted: str, packages: frozenset[str]) -> str:
    """The package of ``redcolor`` an absolute module name falls in (``""`` if outside it)."""
    parts = dotted.split(".")
    if parts[0] != "redcolor":
        return ""
    if len(parts) == 1:
        return "__init__"
    return parts[1] if parts[1] in packages else "__init__"


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from {'.' * level}{name} import ...`` written in ``module``."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(base) - 1:
        raise ValueError(f"{module}: relative import beyond the top-level package")
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _string_import(call: ast.Call) -> str | None:
    """The module a string-import call names, or None when the call is not one."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in STRING_IMPORTERS:
        return None
    arg = call.args[0] if call.args else None
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        raise ValueError(f"line {call.lineno}: {called}() of a non-literal cannot be checked")
    if not arg.value.startswith("."):
        return arg.value
    anchor = next((k.value for k in call.keywords if k.arg == "package"), None)
    if not (isinstance(anchor, ast.Constant) and isinstance(anchor.value, str)):
        raise ValueError(f"line {call.lineno}: relative {called}() without a literal package")
    level = len(arg.value) - len(arg.value.lstrip("."))
    return _resolve_relative(anchor.value, True, level, arg.value[level:] or None)


def imported_packages(
    source: str, module: str, packages: frozenset[str], *, is_package: bool = False
) -> set[str]:
    """Every package of ``redcolor`` that ``source`` (the text of ``module``) imports.

    ``packages`` names the top-level packages and modules of ``redcolor``, so that
    ``from redcolor import geo`` counts as ``geo`` and ``from redcolor import __version__`` as
    the root module. Raises ValueError on an import it cannot resolve.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            # ``from P import n``: n may be a submodule of P (``from redcolor import geo``).
            targets = [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call):
            named = _string_import(node)
            targets = [] if named is None else [named]
        for dotted in targets:
            if pkg := _package(dotted, packages):
                found.add(pkg)
    return found


def _packages() -> frozenset[str]:
    names = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    return frozenset(names | {"data"})


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(SRC.parent).with_suffix("")
    if rel.name == "__init__":
        return ".".join(rel.parent.parts), True
    return ".".join(rel.parts), False


def _owner(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports_by_package() -> dict[str, set[str]]:
    """Package -> the other packages its modules import (the real graph of src/redcolor)."""
    packages = _packages()
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        owner = _owner(path)
        module, is_package = _module_name(path)
        text = path.read_text(encoding="utf-8")
        found = imported_packages(text, module, packages, is_package=is_package)
        graph.setdefault(owner, set()).update(found - {owner})
    return graph


def _violations(owner: str, path: Path) -> set[str]:
    module, is_package = _module_name(path)
    text = path.read_text(encoding="utf-8")
    found = imported_packages(text, module, _packages(), is_package=is_package) - {owner}
    return found - ALLOWED[owner] - SHARED


def _reach(start: str, graph: dict[str, frozenset[str]] | dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# --- the real tree ---------------------------------------------------------------------------


@pytest.mark.parametrize("owner", sorted(ALLOWED))
def test_package_imports_only_what_the_graph_allows(owner: str) -> None:
    root = SRC / owner
    paths = sorted(root.rglob("*.py")) if root.is_dir() else [SRC / f"{owner}.py"]
    assert paths, f"no source for {owner}"
    for path in paths:
        bad = _violations(owner, path)
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}, not allowed for {owner}"


def test_every_package_is_in_the_graph() -> None:
    assert _packages() - {"data"} == set(ALLOWED), sorted(_packages() ^ set(ALLOWED))


def test_the_graph_has_no_cycle() -> None:
    for owner in ALLOWED:
        assert owner not in _reach(owner, ALLOWED), f"{owner} can reach itself"


def test_shared_modules_import_no_stage() -> None:
    graph = _imports_by_package()
    for shared in ("model", "errors", "__init__"):
        assert graph[shared] <= SHARED, (shared, sorted(graph[shared]))


@pytest.mark.parametrize("stage", LIVE)
def test_live_stages_never_reach_the_simulator(stage: str) -> None:
    assert "sim" not in _reach(stage, ALLOWED), f"the graph lets {stage} reach sim"
    assert "sim" not in _reach(stage, _imports_by_package()), f"{stage} reaches sim"


def test_the_checker_sees_the_real_imports() -> None:
    """The checker finds the edges we know are there (it cannot silently see nothing)."""
    graph = _imports_by_package()
    assert {"physics", "geo"} <= graph["sim"]
    assert "physics" in graph["tracking"] and "tracking" in graph["prediction"]
    assert "sim" in graph["pipeline"] and "__init__" in graph["cli"]


# --- the checker on synthetic sources ----------------------------------------------------------

PKGS = frozenset({"geo", "sim", "tracking", "model", "errors"})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import redcolor.sim", {"sim"}),
        ("import redcolor.sim.run as r", {"sim"}),
        ("import os, redcolor.geo.frame", {"geo"}),
        ("from redcolor import sim", {"sim"}),
        ("from redcolor import geo, model", {"geo", "model"}),
        ("from redcolor import __version__", {"__init__"}),
        ("from redcolor.sim.run import simulate", {"sim"}),
        ("from . import gating", {"tracking"}),
        ("from .gating import gate", {"tracking"}),
        ("from .. import sim", {"sim"}),
        ("from ..sim.run import simulate", {"sim"}),
        ("from ..errors import InputError", {"errors"}),
        ("import importlib\nimportlib.import_module('redcolor.sim.run')", {"sim"}),
        ("from importlib import import_module\nimport_module('redcolor.geo')", {"geo"}),
        (
            "import importlib\nimportlib.import_module('..sim', package='redcolor.tracking')",
            {"sim"},
        ),
        ("__import__('redcolor.sim')", {"sim"}),
        ("from importlib import resources\nresources.files('redcolor.sim')", {"sim"}),
        ("def f():\n    from redcolor.sim import run\n    return run", {"sim"}),
        ("class C:\n    def m(self):\n        import redcolor.geo", {"geo"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..sim import run", {"sim"}),
        ("import numpy\nfrom os import path\nimport redcolorx", set()),
    ],
)
def test_checker_finds_each_form(source: str, expected: set[str]) -> None:
    assert imported_packages(source, "redcolor.tracking.tracker", PKGS) == expected


def test_checker_resolves_relative_imports_in_a_package_init() -> None:
    assert imported_packages("from . import run", "redcolor.sim", PKGS, is_package=True) == {"sim"}
    assert imported_packages("from .. import geo", "redcolor.sim", PKGS, is_package=True) == {"geo"}


@pytest.mark.parametrize(
    "source",
    [
        "import importlib\nname = 'redcolor.sim'\nimportlib.import_module(name)",
        "import importlib\nimportlib.import_module('.sim')",
        "from .... import sim",
    ],
)
def test_checker_refuses_what_it_cannot_resolve(source: str) -> None:
    with pytest.raises(ValueError):
        imported_packages(source, "redcolor.tracking.tracker", PKGS)


def test_the_reach_check_catches_a_path_through_another_package() -> None:
    graph = {"tracking": {"geo"}, "geo": {"sim"}, "sim": set()}
    assert "sim" in _reach("tracking", graph)
    assert "sim" not in _reach("sim", {"sim": {"geo"}, "geo": set()})
