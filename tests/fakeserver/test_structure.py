"""How the fake's modules connect: three layers, no import circle, one way in.

The layers are folders: ``fakeserver/backend/`` (state and rules), ``fakeserver/web/`` (the WSGI
app and its middleware) and ``fakeserver/transports/`` (the loopback server and the in-process
transports); ``fakeserver/errors.py`` (the exception tree every layer raises or handles) sits
under all three, and the top-level modules (``cloud``, ``cli``, ``pytest_plugin``) assemble them.

The graph is read from the ``import`` statements themselves (with :mod:`ast`), including imports
inside functions and under ``TYPE_CHECKING``, so a circle hidden in a lazy import is caught too.
"""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

import pytest

import fakeserver

PACKAGE = Path(fakeserver.__file__).resolve().parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
# The ways in from outside: the WSGI app, the loopback server, the in-process transports.
FRONT_ENDS = {
    "fakeserver.web.app",
    "fakeserver.transports.server",
    "fakeserver.transports.requests_adapter",
    "fakeserver.transports.httpx_route",
}
# The bottom of every layer: the exception tree, which imports no other module of the fake.
ERRORS = "fakeserver.errors"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(name: str) -> set[str]:
    """The modules of the subpackage ``fakeserver.<name>``, its ``__init__`` included."""
    prefix = f"fakeserver.{name}"
    return {m for m in MODULES if m == prefix or m.startswith(prefix + ".")}


BACKEND = _layer("backend")
WEB = _layer("web")
TRANSPORTS = _layer("transports")


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
    # The package a relative import starts from: the module's own for ``__init__``.
    here = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here.rsplit(".", node.level - 1)[0] if node.level else ""
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


def test_the_graph_sees_the_modules_it_should() -> None:
    # Guards the checks below against a parser that finds nothing.
    assert {"fakeserver.cloud", "fakeserver.backend.state", "fakeserver.web.app"} <= set(MODULES)
    assert "fakeserver.web.app" in GRAPH["fakeserver.cloud"]
    assert "fakeserver.cloud" in GRAPH["fakeserver.cli"]  # a function-level import
    assert "fakeserver.transports.wsgi" in GRAPH["fakeserver.web.faults"]  # TYPE_CHECKING
    assert ERRORS in GRAPH["fakeserver.backend.rules"]  # ``from ..errors import``
    assert "fakeserver.backend.gameservers" in GRAPH["fakeserver.backend.fleet"]  # ``from .``
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle() -> None:
    assert _cycle(GRAPH) is None


def test_the_errors_import_nothing_of_the_fake() -> None:
    assert GRAPH[ERRORS] == set()


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        # The backend knows nothing of HTTP, WSGI or the modules that assemble the fake.
        ("backend", BACKEND | {ERRORS}),
        # The transports carry any WSGI app: they know neither the app nor the backend.
        ("transports", TRANSPORTS | {ERRORS}),
        # The app uses the backend and the WSGI plumbing, never a transport.
        ("web", WEB | BACKEND | {ERRORS, "fakeserver.transports.wsgi"}),
    ],
)
def test_each_layer_imports_only_the_layers_below_it(layer: str, allowed: set[str]) -> None:
    # Direct imports suffice: every allowed set is closed under imports (errors imports none).
    imported = {module: sorted(GRAPH[module] - allowed) for module in _layer(layer)}
    assert {module: found for module, found in imported.items() if found} == {}


def test_only_cloud_builds_the_front_ends() -> None:
    importers = {
        module: sorted(_imports(module, runtime_only=True) & FRONT_ENDS)
        for module in MODULES
        if module not in ("fakeserver", "fakeserver.cloud")
    }
    assert {m: found for m, found in importers.items() if found} == {}


@pytest.mark.parametrize(
    "module",
    ["fakeserver.web.app", "fakeserver.web.faults", "fakeserver.web.journal", "fakeserver.cloud"],
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


def _readme_map() -> dict[str, set[str]]:
    """The files the README's development map names in each fakeserver folder."""
    lines = (PACKAGE.parent / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("fakeserver/ "))
    folders: dict[str, set[str]] = {}
    folder = ""
    for line in lines[start:]:
        if line[:1] not in ("", " ") and not line.startswith("fakeserver/ "):
            break  # the next top-level entry of the map
        head = line.split()[0] if line.strip() else ""
        if head.endswith("/") and not line.startswith(" " * 10):
            folder = "" if head == "fakeserver/" else head.rstrip("/")
        names = set(re.findall(r"\b(\w+\.py)\b", line))
        folders.setdefault(folder, set()).update(names)
    return folders


def test_the_readme_map_matches_the_tree() -> None:
    tree: dict[str, set[str]] = {}
    for path in MODULES.values():
        if path.name != "__init__.py":
            folder = path.parent.relative_to(PACKAGE).as_posix()
            tree.setdefault("" if folder == "." else folder, set()).add(path.name)
    assert _readme_map() == tree


def test_the_package_stays_small_enough_to_read() -> None:
    top = [path.name for path in PACKAGE.glob("*.py")]
    assert len(top) <= 12, sorted(top)
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert long == {}
