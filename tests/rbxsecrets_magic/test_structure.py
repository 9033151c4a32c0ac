"""How the package is put together: no import cycle, and ``__all__`` as the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import rbxsecrets_magic

PACKAGE = "rbxsecrets_magic"
ROOT = Path(rbxsecrets_magic.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _imported(module: str, node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """The package's modules an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if node.level:
        base = module if module == PACKAGE else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    found = set()
    for alias in node.names:
        # `from . import completion` loads a submodule; `from . import x` a name from __init__.
        candidate = f"{source}.{alias.name}"
        if candidate in modules:
            found.add(candidate)
        elif source in modules:
            found.add(source)
    return found


def import_graph() -> dict[str, set[str]]:
    """Every module of the package and the modules of the package it imports.

    Every import statement counts: at module level, inside functions and under
    ``TYPE_CHECKING`` alike, since each is a dependency that a cycle would tangle.
    """
    paths = sorted(ROOT.glob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _imported(name, node, modules)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            cycle = visit(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.sending" in graph[f"{PACKAGE}.client"]  # module level, relative
    assert f"{PACKAGE}.magics" in graph[PACKAGE]  # inside load_ipython_extension
    assert f"{PACKAGE}.client" in graph[f"{PACKAGE}.tables"]  # under TYPE_CHECKING
    assert f"{PACKAGE}.completion" in graph[f"{PACKAGE}.magics"]  # from . import module
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_public_api() -> None:
    assert rbxsecrets_magic.__all__ == [
        "ApiError",
        "AuthenticationError",
        "BadRequestError",
        "ConflictError",
        "InvalidInputError",
        "NotFoundError",
        "Pacer",
        "PermissionDeniedError",
        "PublicKey",
        "RateLimitedError",
        "RbxSecretsError",
        "SecretInfo",
        "SecretsClient",
        "ServerError",
        "SetResult",
        "TransportError",
        "UnexpectedAnswerError",
        "WaitTooLongError",
        "__version__",
        "load_ipython_extension",
        "seal",
    ]
