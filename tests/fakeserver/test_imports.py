"""What importing the package costs, and what it exports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import fakeserver

HEAVY = ("nacl", "requests", "httpx", "respx", "urllib3")

# Names other code imports from each module; moving one must keep it importable from here.
PUBLIC = {
    "fakeserver.backend": (
        "OPERATIONS", "ApiKey", "Call", "FakeOpenCloud", "JournalEntry", "OAuthToken",
        "Universe", "normalize_domain", "parse_universe_id", "valid_secret_id",
        "validate_value",
    ),
    "fakeserver.server": (
        "FakeServer", "WSGIApp", "build_environ", "call_app", "internal_error", "main",
        "raise_collected",
    ),
    "fakeserver.transports": ("WSGIAdapter", "httpx_handler", "mount", "respx_route"),
    "fakeserver.wsgi": ("WSGIApp", "build_environ", "call_app"),
    "fakeserver.cli": ("main",),
    "fakeserver.pytest_plugin": (
        "FakeOpenCloudHandle", "fake_open_cloud", "fake_open_cloud_factory",
    ),
}


def test_server_main_still_runs_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from fakeserver.server import main

    # The old console-script target must keep working: a refused setup exits 2 at once.
    assert main(["--host", "192.0.2.10"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_one_wsgi_plumbing_for_every_transport() -> None:
    from fakeserver import server, transports, wsgi

    assert server.build_environ is wsgi.build_environ is transports.build_environ
    assert server.call_app is wsgi.call_app is transports.call_app


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
        "JournalEntry",
        "OAuthToken",
        "Universe",
    ]
    for name in fakeserver.__all__:
        assert getattr(fakeserver, name) is not None
    assert set(fakeserver.__all__) <= set(dir(fakeserver))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        fakeserver.no_such_name  # noqa: B018


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from fakeserver.backend import FakeOpenCloud
    from fakeserver.errors import DropConnection
    from fakeserver.server import FakeServer

    assert fakeserver.FakeOpenCloud is FakeOpenCloud
    assert fakeserver.DropConnection is DropConnection
    assert fakeserver.FakeServer is FakeServer


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_stay_importable(module: str) -> None:
    imported = __import__(module, fromlist=["_"])
    missing = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert not missing
