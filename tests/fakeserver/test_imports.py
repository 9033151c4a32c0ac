"""What importing the package costs, and what it exports: ``__all__`` is the public API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import fakeserver

HEAVY = ("nacl", "requests", "httpx", "respx", "urllib3")


def _modules_after(statement: str) -> set[str]:
    """The top-level packages in ``sys.modules`` after running ``statement`` in a fresh Python."""
    script = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return {name.split(".")[0] for name in json.loads(done.stdout)}


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("statement", ["import fakeserver.pytest_plugin", "import fakeserver"])
def test_importing_the_plugin_imports_nothing_heavy(statement: str) -> None:
    loaded = _modules_after(statement)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert fakeserver.__all__ == sorted(fakeserver.__all__, key=_isort_style)
    assert fakeserver.__all__ == [
        "OPERATIONS",
        "ApiKey",
        "DropConnection",
        "FakeOpenCloud",
        "FakeServer",
        "GameServer",
        "GameServerError",
        "JournalEntry",
        "OAuthToken",
        "RestartScheduled",
        "Secret",
        "Universe",
    ]
    for name in fakeserver.__all__:
        assert getattr(fakeserver, name) is not None
    assert set(fakeserver.__all__) <= set(dir(fakeserver))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        fakeserver.no_such_name  # noqa: B018
