"""A project's tests that use the plugin cannot reach Roblox by mistake, with xdist too.

A developer has a real key exported (``RBX_API_KEY=real-looking-key``). Inside a test that uses
``fake_open_cloud``, code that forgets ``base_url`` reaches the fake and never sends that key,
and code that names ``https://apis.roblox.com`` fails at once with the guard's one line,
before any name lookup: a ``conftest.py`` counts what reaches the real ``getaddrinfo``.
"""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

import pytest

from fakeserver import pytest_plugin
from rbxsecrets_magic.settings import ENV_VARS

REAL_KEY = "real-looking-key"
GUARD_LINE = (
    "*NetworkBlockedError: blocked network access to apis.roblox.com:443: only loopback is "
    "reachable in this test (the fake Open Cloud's network guard); to allow it: "
    "@pytest.mark.fake_open_cloud(allow_network=True)"
)

CONFTEST = """
import json
from fnmatch import fnmatch
import os
import socket

import pytest

_real_getaddrinfo = socket.getaddrinfo


def _counting_getaddrinfo(host, *args, **kwargs):
    # Installed before any guard, so it sits underneath: it sees only lookups the guard let by.
    with open(os.environ["LOOKUP_LOG"], "a") as log:
        log.write(json.dumps(host if isinstance(host, str) else repr(host)) + "\\n")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _counting_getaddrinfo
RBX = ("RBX_UNIVERSE_ID", "RBX_API_KEY", "RBX_OAUTH_TOKEN", "RBX_OPEN_CLOUD_URL")


@pytest.fixture(autouse=True)
def environment_restored():
    before = {name: os.environ.get(name) for name in RBX}
    yield
    assert {name: os.environ.get(name) for name in RBX} == before
"""

TESTS = """
import os
import socket

import httpx
import pytest
import requests

from rbxsecrets_magic import SecretsClient


def test_forgets_base_url(fake_open_cloud):
    real = fake_open_cloud.fake.add_api_key(key="real-looking-key")  # known, to catch it
    assert os.environ["RBX_API_KEY"] == fake_open_cloud.api_key != "real-looking-key"
    assert os.environ["RBX_OPEN_CLOUD_URL"] == fake_open_cloud.url
    assert os.environ["RBX_UNIVERSE_ID"] == str(fake_open_cloud.universe_id)
    assert "RBX_OAUTH_TOKEN" not in os.environ
    # No key, no base_url: they come from the environment.
    client = SecretsClient(int(os.environ["RBX_UNIVERSE_ID"]))
    assert client.set("api_token", "s3cret").action == "created"
    assert fake_open_cloud.plaintext("api_token") == "s3cret"
    used = {entry.credential_id for entry in fake_open_cloud.fake.journal}
    assert used and real.credential_id not in used and None not in used


def test_names_roblox_with_the_client(fake_open_cloud):
    client = SecretsClient(fake_open_cloud.universe_id, base_url="https://apis.roblox.com")
    client.set("api_token", "s3cret")


def test_names_roblox_with_requests(fake_open_cloud):
    requests.get("https://apis.roblox.com/cloud/v2/universes/1/secrets", timeout=5)


def test_names_roblox_with_httpx(fake_open_cloud_factory):
    httpx.get("https://apis.roblox.com/cloud/v2/universes/1/secrets")


def test_names_roblox_with_a_socket(fake_open_cloud):
    socket.create_connection(("apis.roblox.com", 443), timeout=5)


@pytest.mark.fake_open_cloud(allow_network=True)
def test_allowed(fake_open_cloud):
    assert "connect" not in vars(socket.socket)  # no guard installed


def test_without_the_fixture():
    assert os.environ["RBX_API_KEY"] == "real-looking-key"
    assert "connect" not in vars(socket.socket)
"""

FAILED = [
    "test_names_roblox_with_the_client",
    "test_names_roblox_with_requests",
    "test_names_roblox_with_httpx",
    "test_names_roblox_with_a_socket",
]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with the tests above, a developer's real key exported, and a lookup log."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_escape=TESTS)
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RBX_API_KEY", REAL_KEY)
    log = pytester.path / "lookups.jsonl"
    monkeypatch.setenv("LOOKUP_LOG", str(log))
    return log


def _lookups(log: Path) -> list[str]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "2"]], ids=["serial", "xdist"])
def test_a_project_cannot_reach_roblox(
    pytester: pytest.Pytester, project: Path, workers: list[str]
) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf", *workers)
    result.assert_outcomes(passed=3, failed=len(FAILED))
    failed = {line.split("::")[1].split(" ")[0] for line in result.outlines if "FAILED" in line}
    assert failed == set(FAILED)
    # One line each, naming the host and the way to allow it; the key is nowhere.
    guard_lines = [line for line in result.outlines if fnmatch(line, f"E   {GUARD_LINE}")]
    assert len(guard_lines) == len(FAILED), result.stdout.str()
    assert REAL_KEY not in result.stdout.str() + result.stderr.str()
    lookups = _lookups(project)
    assert "127.0.0.1" in lookups  # the counter works: the fake's loopback URL was looked up
    assert not [host for host in lookups if "roblox" in host]  # no DNS lookup for Roblox


def test_the_option_guards_every_test(pytester: pytest.Pytester, project: Path) -> None:
    pytester.makepyfile(
        test_plain="""
        import socket

        import pytest

        def test_no_fixture():
            socket.getaddrinfo("apis.roblox.com", 443)

        @pytest.mark.fake_open_cloud(allow_network=True)
        def test_allowed():
            assert "connect" not in vars(socket.socket)
            socket.getaddrinfo("127.0.0.1", 80)  # logged: the counter is in place
        """
    )
    args = ["-p", "no:cacheprovider", "test_plain.py"]
    result = pytester.runpytest_subprocess("--fake-open-cloud-block-network", *args)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([GUARD_LINE])
    pytester.makeini("[pytest]\nfake_open_cloud_block_network = true\n")
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", *args)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([GUARD_LINE])
    lookups = _lookups(project)
    assert lookups.count("127.0.0.1") == 2
    assert not [host for host in lookups if "roblox" in host]


def test_the_plugin_names_every_variable_the_package_reads() -> None:
    assert set(pytest_plugin.ENV_VARS) == set(ENV_VARS)
