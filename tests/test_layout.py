"""How the test suite is put together: helpers in conftest.py files, nothing on sys.path by hand."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TEST_MODULES = sorted(TESTS.rglob("test_*.py"))


@pytest.mark.parametrize("path", TEST_MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_test_module_loads_plugins_or_edits_sys_path(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            assert "pytest_plugins" not in names, f"{path.name}: put fixtures in a conftest.py"
        if isinstance(node, ast.Attribute) and node.attr == "path":
            base = node.value
            assert not (isinstance(base, ast.Name) and base.id == "sys"), (
                f"{path.name}:{node.lineno}: no sys.path edits; the checkout is on the path"
            )
