"""The command line, run as a real process: ``python -m fakeserver`` and ``rbx-fakeserver``."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from nacl.public import PublicKey, SealedBox

VALUE = "correct horse battery staple"
API_KEY = "cli-test-key-0123456789abcdefghijklmnop"
LOG_LINE = re.compile(r"(GET|POST|PATCH|DELETE) (/\S*) (\d{3}|dropped) \d+\.\d+ms")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")


class Cli:
    """A running ``python -m fakeserver`` and what its first line said."""

    def __init__(self, *args: str, command: list[str] | None = None) -> None:
        argv = command or [sys.executable, "-m", "fakeserver"]
        self.proc = subprocess.Popen(
            [*argv, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Buffered stdout, as in a pipe: the first line must be flushed by the program.
            env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        self.ready: dict[str, Any] = json.loads(first)
        self.url: str = self.ready["url"]

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def cli_factory() -> Iterator[Any]:
    started: list[Cli] = []

    def start(*args: str, **kwargs: Any) -> Cli:
        cli = Cli(*args, **kwargs)
        started.append(cli)
        return cli

    yield start
    for cli in started:
        cli.kill()


def seal(value: str, public_key: str) -> str:
    box = SealedBox(PublicKey(base64.b64decode(public_key)))
    return base64.b64encode(box.encrypt(value.encode())).decode()


def create(url: str, universe_id: int, api_key: str, secret_id: str, value: str) -> int:
    headers = {"x-api-key": api_key}
    base = f"{url}/cloud/v2/universes/{universe_id}/secrets"
    key = requests.get(base + "/public-key", headers=headers, timeout=5).json()
    body = {"id": secret_id, "secret": seal(value, key["secret"]), "key_id": key["key_id"]}
    return requests.post(base, json=body, headers=headers, timeout=5).status_code


def test_first_line_then_one_log_line_per_request(cli_factory: Any) -> None:
    cli = cli_factory("--universe-id", "123", "--universe-id", "456", "--api-key", API_KEY)
    assert set(cli.ready) == {"url", "universe_ids", "api_key"}
    assert cli.ready["universe_ids"] == [123, 456]
    assert cli.ready["api_key"] == API_KEY
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", cli.url)

    assert create(cli.url, 456, API_KEY, "cli_secret", VALUE) == 201
    listed = requests.get(
        f"{cli.url}/cloud/v2/universes/456/secrets",
        headers={"x-api-key": API_KEY},
        params={"limit": 5},
        timeout=5,
    )
    assert [s["id"] for s in listed.json()["secrets"]] == ["cli_secret"]
    assert requests.get(f"{cli.url}/cloud/v2/universes/123/secrets", timeout=5).status_code == 401

    code, out, err = cli.stop()
    assert code == 0, err
    lines = out.splitlines()
    assert [LOG_LINE.fullmatch(line) is not None for line in lines] == [True] * 4, lines
    assert [line.split()[2] for line in lines] == ["200", "201", "200", "401"]
    assert "limit=5" not in out  # paths only, no query strings
    for text in (out, err):
        assert VALUE not in text
        assert API_KEY not in text


def test_generated_universe_and_key(cli_factory: Any) -> None:
    cli = cli_factory()
    (universe_id,) = cli.ready["universe_ids"]
    assert isinstance(universe_id, int)
    api_key = cli.ready["api_key"]
    assert isinstance(api_key, str) and len(api_key) >= 20
    assert create(cli.url, universe_id, api_key, "generated", VALUE) == 201
    code, out, _ = cli.stop(signal.SIGINT)
    assert code == 0
    assert api_key not in out


def test_expose_plaintext(cli_factory: Any) -> None:
    cli = cli_factory("--expose-plaintext", "--universe-id", "77", "--api-key", API_KEY)
    assert create(cli.url, 77, API_KEY, "shown", VALUE) == 201
    reply = requests.get(
        f"{cli.url}/_fake/universes/77/secrets/shown/plaintext",
        headers={"x-api-key": API_KEY},
        timeout=5,
    )
    assert reply.status_code == 200
    assert reply.json()["value"] == VALUE
    code, out, _ = cli.stop()
    assert code == 0
    assert VALUE not in out
    assert "/_fake/universes/77/secrets/shown/plaintext 200" in out


def test_expose_plaintext_serves_game_servers(cli_factory: Any) -> None:
    cli = cli_factory("--expose-plaintext", "--universe-id", "77", "--api-key", API_KEY)
    headers = {"x-api-key": API_KEY}
    assert create(cli.url, 77, API_KEY, "TOKEN", VALUE) == 201
    requests.patch(
        f"{cli.url}/cloud/v2/universes/77/secrets/TOKEN",
        json={"domain": "a.test"},
        headers=headers,
        timeout=5,
    ).raise_for_status()
    started = requests.post(
        f"{cli.url}/_fake/universes/77/servers", json={}, headers=headers, timeout=5
    )
    assert started.status_code == 201
    server_id = started.json()["id"]
    listed = requests.get(f"{cli.url}/_fake/universes/77/servers", headers=headers, timeout=5)
    assert [s["id"] for s in listed.json()["servers"]] == [server_id]
    spec = {"url": "https://a.test/", "headers": {"Authorization": {"secret": "TOKEN"}}}
    sent = requests.post(
        f"{cli.url}/_fake/universes/77/servers/{server_id}/http-request",
        json=spec,
        headers=headers,
        timeout=5,
    )
    assert sent.json()["headers"] == {"Authorization": VALUE}
    restarted = requests.post(
        f"{cli.url}/cloud/v2/universes/77:restartServers",
        json={"closeAllVersions": True},
        headers=headers,
        timeout=5,
    )
    assert (restarted.status_code, restarted.json()) == (200, {})
    listed = requests.get(f"{cli.url}/_fake/universes/77/servers", headers=headers, timeout=5)
    assert [s["id"] for s in listed.json()["servers"]] != [server_id]
    code, out, _ = cli.stop()
    assert code == 0
    assert VALUE not in out


def test_plaintext_path_is_a_404_without_the_switch(cli_factory: Any) -> None:
    cli = cli_factory("--universe-id", "77", "--api-key", API_KEY)
    assert create(cli.url, 77, API_KEY, "hidden", VALUE) == 201
    reply = requests.get(
        f"{cli.url}/_fake/universes/77/secrets/hidden/plaintext",
        headers={"x-api-key": API_KEY},
        timeout=5,
    )
    assert reply.status_code == 404
    assert VALUE not in reply.text
    assert cli.stop()[0] == 0


def test_rate_limit(cli_factory: Any) -> None:
    cli = cli_factory("--rate-limit", "2/60", "--universe-id", "5", "--api-key", API_KEY)
    url = f"{cli.url}/cloud/v2/universes/5/secrets"
    statuses = [requests.get(url, headers={"x-api-key": API_KEY}, timeout=5) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[0].headers["x-ratelimit-limit"].startswith("2")
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert cli.stop()[0] == 0


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fakeserver", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_refuses_non_loopback_without_allow_remote(host: str) -> None:
    result = _run("--host", host)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--allow-remote" in result.stderr


@pytest.mark.parametrize("bad", ["120", "0/60", "x/60", "10/0", "10/-1"])
def test_bad_rate_limit_is_a_usage_error(bad: str) -> None:
    result = _run("--rate-limit", bad)
    assert result.returncode == 2
    assert "N/SECONDS" in result.stderr


def test_localhost_is_loopback(cli_factory: Any) -> None:
    cli = cli_factory("--host", "localhost")
    assert requests.get(cli.url + "/cloud/v2/universes/1/secrets", timeout=5).status_code == 401
    assert cli.stop()[0] == 0


def test_console_script(cli_factory: Any) -> None:
    script = Path(sys.executable).with_name("rbx-fakeserver")
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    cli = cli_factory("--universe-id", "9", command=[str(script)])
    assert cli.ready["universe_ids"] == [9]
    assert cli.stop()[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "not a loopback address"),
        (["--universe-id", "0"], "universe_id must be a positive"),
        (["--universe-id", "5", "--universe-id", "5"], "already exists"),
        (["--api-key", " spaced-secret-key "], "printable ASCII"),
    ],
)
def test_main_refuses_bad_setups_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from fakeserver.cli import main

    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "spaced-secret-key" not in captured.err


def test_log_reader_going_away_does_not_stop_the_server(cli_factory: Any) -> None:
    cli = cli_factory("--universe-id", "8")
    assert cli.proc.stdout is not None
    cli.proc.stdout.close()  # like `rbx-fakeserver | head -1`
    for _ in range(3):
        reply = requests.get(cli.url + "/cloud/v2/universes/8/secrets", timeout=5)
        assert reply.status_code == 401
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.proc.wait(timeout=10) == 0
    assert cli.proc.stderr is not None
    assert "Traceback" not in cli.proc.stderr.read()


def test_a_parent_that_never_drains_stdout_does_not_stall_the_server(cli_factory: Any) -> None:
    cli = cli_factory("--universe-id", "8")
    long_path = "/x" + "y" * 4000  # each log line ~4 KB: the pipe is full after a few dozen
    with requests.Session() as session:
        for _ in range(200):
            assert session.get(cli.url + long_path, timeout=5).status_code == 404
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.proc.wait(timeout=10) == 0
