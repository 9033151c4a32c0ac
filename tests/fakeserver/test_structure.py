"""How the fake's modules connect: no import circle, one way in, the app calls only public names.

The graph is read from the ``import`` statements themselves (with :mod:`ast`), including imports
inside functions and under ``TYPE_CHECKING``, so a circle hidden in a lazy import is caught too.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

import fakeserver

PACKAGE = Path(fakeserver.__file__).resolve().parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
# The ways in from outside: the WSGI app, the loopback server, the in-process transports.
FRONT_ENDS = {
    "fakeserver.app",
    "fakeserver.server",
    "fakeserver.requests_adapter",
    "fakeserver.httpx_route",
}
# Modules that build the front ends or the command line around the backend.
ABOVE_THE_BACKEND = FRONT_ENDS | {
    "fakeserver.cloud",
    "fakeserver.cli",
    "fakeserver.faults",
    "fakeserver.journal",
    "fakeserver.pytest_plugin",
    "fakeserver.__main__",
}


def _module_name(path: Path) -> str:
    return "fakeserver" if path.name == "__init__.py" else f"fakeserver.{path.stem}"


MODULES = {_module_name(path): path for path in sorted(PACKAGE.glob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, *, runtime_only: bool = False) -> set[str]:
    """The fakeserver modules that ``module`` imports anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node):
                skipped.update(id(child) for child in ast.walk(node))
    package = "fakeserver"
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else ""
            if node.module:
                base = f"{base}.{node.module}" if base else node.module
            # ``from . import x`` and ``from fakeserver import x`` may name submodules.
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in MODULES and name != module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` as a list of modules, or ``None`` if there is none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module)
        if found:
            return found
    return None


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for target in GRAPH[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_the_graph_sees_the_modules_it_should() -> None:
    # Guards the checks below against a parser that finds nothing.
    assert {"fakeserver.cloud", "fakeserver.backend", "fakeserver.app"} <= set(MODULES)
    assert "fakeserver.app" in GRAPH["fakeserver.cloud"]
    assert "fakeserver.cloud" in GRAPH["fakeserver.cli"]  # a function-level import
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle() -> None:
    assert _cycle(GRAPH) is None


def test_the_backend_knows_nothing_of_the_layers_above_it() -> None:
    assert not _reachable("fakeserver.backend") & ABOVE_THE_BACKEND


def test_only_cloud_builds_the_front_ends() -> None:
    importers = {
        module: sorted(_imports(module, runtime_only=True) & FRONT_ENDS)
        for module in MODULES
        if module not in ("fakeserver", "fakeserver.cloud")
    }
    assert {m: found for m, found in importers.items() if found} == {}


@pytest.mark.parametrize(
    "module", ["fakeserver.app", "fakeserver.faults", "fakeserver.journal", "fakeserver.cloud"]
)
def test_the_layers_use_no_private_name_of_another_object(module: str) -> None:
    # ``self._x`` is the object's own business; ``backend._x`` (or anything else's) is not.
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    private = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert private == []


def test_entry_points_resolve() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    plugin = project["entry-points"]["pytest11"]["fakeserver"]
    assert importlib.import_module(plugin).__name__ == "fakeserver.pytest_plugin"
    module, _, function = project["scripts"]["rbx-fakeserver"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
