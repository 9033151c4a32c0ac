"""How the package is put together: layers that import downwards only, no import cycle, and
``__all__`` as the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import rbxsecrets_magic

PACKAGE = "rbxsecrets_magic"
ROOT = Path(rbxsecrets_magic.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _imported(
    module: str, node: ast.Import | ast.ImportFrom, modules: set[str], packages: set[str]
) -> set[str]:
    """The package's modules an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if node.level:
        base = module if module in packages else module.rpartition(".")[0]
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
    paths = sorted(ROOT.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    packages = {_module_name(path) for path in paths if path.name == "__init__.py"}
    graph: dict[str, set[str]] = {}
    for path in paths:
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _imported(name, node, modules, packages)
        graph[name] = edges - {name}
    return graph


def imported_libraries(module: str) -> set[str]:
    """The top-level names of everything outside the package that ``module`` imports."""
    path = ROOT.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.partition(".")[0])
    return found - {PACKAGE}


def layer(module: str) -> str:
    """The layer a module belongs to: its subpackage, or ``top`` for the package's own modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else "top"


#: Which layers each layer may import (besides itself and the top-level foundation modules:
#: errors, settings, version, values). The front ends (ipython, cli) sit on the operations
#: layer, which sits on secrets as code and the Open Cloud client; the client knows none of
#: them, and the two front ends never import each other.
LAYERS: dict[str, set[str]] = {
    "opencloud": set(),
    "credentials": set(),
    "value_sources": {"opencloud", "credentials"},
    "secrets_as_code": {"opencloud", "render", "credentials", "value_sources"},
    "operations": {"opencloud", "secrets_as_code", "credentials", "value_sources"},
    "render": {"opencloud", "secrets_as_code", "operations"},
    "ipython": {
        "opencloud",
        "secrets_as_code",
        "operations",
        "render",
        "credentials",
        "value_sources",
    },
    "cli": {"opencloud", "secrets_as_code", "operations", "render", "credentials", "value_sources"},
}
FOUNDATION = {f"{PACKAGE}.{name}" for name in ("errors", "settings", "version", "values")}


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
    client, magics = f"{PACKAGE}.opencloud.client", f"{PACKAGE}.ipython.magics"
    assert f"{PACKAGE}.opencloud.sending" in graph[client]  # module level, relative
    assert f"{PACKAGE}.errors" in graph[client]  # from .. import
    assert magics in graph[PACKAGE]  # inside load_ipython_extension
    assert client in graph[f"{PACKAGE}.render.tables"]  # under TYPE_CHECKING
    assert f"{PACKAGE}.ipython.completion" in graph[magics]  # from . import module
    assert f"{PACKAGE}.cli.app" in graph[f"{PACKAGE}.cli"]  # a package's own __init__
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_every_module_is_in_a_known_layer() -> None:
    for module in import_graph():
        assert (
            layer(module) in LAYERS
            or module in FOUNDATION
            or module
            in {
                PACKAGE,
                f"{PACKAGE}.__main__",
                f"{PACKAGE}.demo",
            }
        ), f"{module}: put it in a layer of LAYERS, or add it to the foundation"


def test_layers_import_downwards_only() -> None:
    for module, targets in import_graph().items():
        here = layer(module)
        if here == "top":
            continue
        for target in targets:
            there = layer(target)
            assert there in (here, "top") or there in LAYERS[here], (
                f"{module} imports {target}: {here} may not import {there}"
            )
            if there == "top":
                assert target in FOUNDATION, f"{module} imports {target}, which is not foundation"


def test_the_foundation_imports_no_front_end() -> None:
    graph = import_graph()
    for module in FOUNDATION:
        assert {layer(target) for target in graph[module]} <= {"top", "opencloud"}, module


def test_only_the_magics_import_ipython() -> None:
    # values.py used to import IPython's StdinNotImplementedError; the prompt is ipython/'s now.
    for module in import_graph():
        below = layer(module) in ("opencloud", "secrets_as_code", "operations", "render", "cli")
        if below or module in FOUNDATION:
            assert "IPython" not in imported_libraries(module), module


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


def test_the_layer_rule_would_catch_an_upward_import() -> None:
    graph = import_graph()
    ops = f"{PACKAGE}.operations.writes"
    assert f"{PACKAGE}.operations.rollout" in graph[ops]
    assert "ipython" not in LAYERS["operations"] and "cli" not in LAYERS["operations"]
    assert layer(f"{PACKAGE}.ipython.magics") == "ipython" and layer(PACKAGE) == "top"


def test_both_front_ends_go_through_the_operations_layer() -> None:
    graph = import_graph()
    for front in ("ipython", "cli"):
        used = {layer(t) for m, targets in graph.items() if layer(m) == front for t in targets}
        assert "operations" in used, front


def test_only_the_client_speaks_http() -> None:
    for module in import_graph():
        if layer(module) != "opencloud":
            assert not {"requests", "urllib3", "nacl"} & imported_libraries(module), module


def test_the_readme_map_names_every_module_of_the_package() -> None:
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("rbxsecrets_magic/   the extension")
    section = readme[start : readme.index("\nfakeserver/", start)]
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        folder = path.parent.relative_to(ROOT)
        if str(folder) != ".":
            assert f"  {folder}/" in section, f"README map: no {folder}/"
        assert path.name in section, f"README map: {path.relative_to(ROOT)} is not named"


def test_no_package_folder_holds_more_than_twelve_modules() -> None:
    for folder in [ROOT, *(p for p in ROOT.iterdir() if (p / "__init__.py").is_file())]:
        assert len(list(folder.glob("*.py"))) <= 12, folder
