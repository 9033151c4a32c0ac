"""The fake's plaintexts stay with the test: its key off the process list, its Host its own.

``ps`` shows every local user each process's command line, so ``--api-key demo-key`` hands the
key that reads plaintexts from ``/_fake/`` to all of them: the key comes from a file or the
environment, and the option still works but says so on stderr.

A web page can rebind a name of its own to 127.0.0.1 and have the browser ask the fake for
plaintexts; those requests carry the page's name in ``Host``. Every transport answers only the
names that are its own (loopback and the bound address; an in-process transport, the host of
its base URL): anything else is a 421 with one line, never a value.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from fakeserver import FakeOpenCloud
from fakeserver.cli import ENV_API_KEY, main
from fakeserver.transports.hosts import HostCheck

KEY = "exposure-test-key-0123456789abcdefghij"
VALUE = "plaintext-nobody-else-may-read"
REBOUND = "rebound.attacker.example"
on_linux = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/PID/cmdline")


class Running:
    """A ``python -m fakeserver`` process, its first line and its command line as ``ps`` sees it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakeserver", "--expose-plaintext", "--universe-id", "7", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**{k: v for k, v in os.environ.items() if k != ENV_API_KEY}, **env},
        )
        assert self.proc.stdout is not None
        self.ready: dict[str, Any] = json.loads(self.proc.stdout.readline())
        self.cmdline = Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().decode()

    def status(self, key: str, host: str | None = None) -> int:
        url = f"{self.ready['url']}/_fake/universes/7/servers"
        headers = {"x-api-key": key} | ({"Host": host} if host else {})
        return requests.get(url, headers=headers, timeout=5).status_code

    def stop(self) -> str:
        """Stop it; return its stderr."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=10)
        return err


@pytest.fixture
def start() -> Iterator[Any]:
    started: list[Running] = []

    def run(args: list[str], env: dict[str, str] | None = None) -> Running:
        started.append(Running(args, env or {}))
        return started[-1]

    yield run
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.communicate()


@on_linux
def test_key_from_a_file_is_not_on_the_command_line(start: Any, tmp_path: Path) -> None:
    path = tmp_path / "fake-key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    fake = start(["--api-key-file", str(path)])
    assert KEY not in fake.cmdline and str(path) in fake.cmdline
    assert fake.ready["api_key"] == KEY  # its line ending dropped
    assert fake.status(KEY) == 200
    assert fake.status("some-other-key-0123456789abcdefghij") == 401
    assert fake.status(KEY, host=f"{REBOUND}:{fake.ready['url'].rsplit(':', 1)[1]}") == 421
    assert fake.stop() == ""


@on_linux
def test_key_from_the_environment(start: Any) -> None:
    fake = start([], {ENV_API_KEY: KEY})
    assert KEY not in fake.cmdline
    assert fake.status(KEY) == 200
    assert fake.stop() == ""


@on_linux
def test_key_on_the_command_line_warns(start: Any) -> None:
    fake = start(["--api-key", KEY])
    assert fake.status(KEY) == 200
    warning = fake.stop().strip().splitlines()
    assert len(warning) == 1 and "--api-key-file" in warning[0] and ENV_API_KEY in warning[0]
    assert KEY not in warning[0]


def test_unreadable_key_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-key"
    assert main(["--api-key-file", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"rbx-fakeserver: cannot read --api-key-file {missing}: No such file or directory"
    ]


def test_a_file_and_the_option_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--api-key-file", "k", "--api-key", KEY])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.fixture
def fake() -> FakeOpenCloud:
    """A fake with the /_fake/ oracle on and one secret whose plaintext it would serve."""
    fake = FakeOpenCloud(expose_plaintext=True)
    fake.add_universe(7)
    fake.put_secret(7, "api_token", VALUE)
    return fake


PLAINTEXT = "/_fake/universes/7/secrets/api_token/plaintext"


def _raw(port: int, head: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_loopback_server_answers_only_its_own_names(fake: FakeOpenCloud) -> None:
    headers = fake.add_api_key().headers
    with fake.serve() as server:
        url = server.url + PLAINTEXT
        port = server.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}"):
            reply = requests.get(url, headers={**headers, "Host": host}, timeout=5)
            assert reply.json()["value"] == VALUE, host
        for host in (f"{REBOUND}:{port}", REBOUND, "127.0.0.1.nip.io", "localhost.evil.test"):
            reply = requests.get(url, headers={**headers, "Host": host}, timeout=5)
            assert reply.status_code == 421, host
            assert VALUE not in reply.text and host not in reply.text
            assert reply.text.count("\n") == 1 and "DNS rebinding" in reply.text
        # HTTP/1.0 without a Host: no browser sends that; answered.
        key = headers["x-api-key"]
        answer = _raw(port, f"GET {PLAINTEXT} HTTP/1.0\r\nx-api-key: {key}\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and VALUE.encode() in answer
    assert fake.journal[-1].status == 200  # the refused requests never reached the fake


def test_the_bound_address_is_a_name_of_the_server() -> None:
    check = HostCheck(lambda environ, start: [b""], lambda: {"192.0.2.10"}, loopback=True)
    assert check.allows("192.0.2.10:8765") and check.allows("127.0.0.1")
    assert not check.allows("192.0.2.11") and not check.allows(REBOUND)
    everywhere = HostCheck(lambda environ, start: [b""], set, loopback=True, addresses=True)
    assert everywhere.allows("192.0.2.11:8765") and everywhere.allows("[2001:db8::1]:80")
    assert not everywhere.allows(REBOUND) and not everywhere.allows("192.0.2.11.nip.io")


def test_in_process_transports_answer_only_their_base_url(fake: FakeOpenCloud) -> None:
    headers = fake.add_api_key().headers
    session = requests.Session()
    fake.mount(session)
    url = "https://apis.roblox.com" + PLAINTEXT
    assert session.get(url, headers=headers).json()["value"] == VALUE
    refused = session.get(url, headers={**headers, "Host": REBOUND})
    assert refused.status_code == 421 and VALUE not in refused.text
    with fake.respx_route():
        assert httpx.get(url, headers=headers).json()["value"] == VALUE
        refused_httpx = httpx.get(url, headers={**headers, "Host": REBOUND})
    assert refused_httpx.status_code == 421 and VALUE not in refused_httpx.text
