"""Helpers for the tests of ``rbxsecrets_magic`` (this module holds no tests).

Imported as ``tests.rbxsecrets_magic.support`` (the checkout is on ``sys.path`` through
pytest's ``pythonpath`` setting), so it works with every ``--import-mode``; the fixtures built
on it are in ``tests/conftest.py``.

- :class:`VirtualClock`: one clock for the fake and the client, advanced by the client's
  sleeps, so a minute of rate limiting runs in milliseconds and deterministically.
- :class:`CannedAdapter`: a ``requests`` adapter answering scripted responses, for shapes the
  fake never sends (other timestamp spellings, empty bodies, redirects, HTML errors).
- :func:`strings_reachable_from`: everything an exception exposes, to prove no secret is in it.
- :class:`MagicShell` and :class:`Prompt`: a real IPython shell with the extension loaded,
  whose history is kept in SQLite with outputs too, so tests can prove a value never reached
  it; and a stand-in for the masked prompt.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from rbxsecrets_magic import SecretsClient


class VirtualClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


def client_for(cloud: Any, **kwargs: Any) -> SecretsClient:
    """A client for a ``fake_open_cloud`` handle over loopback HTTP, unpaced by default."""
    kwargs.setdefault("rate_limit", None)
    return SecretsClient(cloud.universe_id, api_key=cloud.api_key, base_url=cloud.url, **kwargs)


def mounted_client(cloud: Any, **kwargs: Any) -> SecretsClient:
    """A client whose session reaches the fake in-process through ``fake.mount``."""
    session = requests.Session()
    cloud.fake.mount(session)
    kwargs.setdefault("rate_limit", None)
    # The URL fake.mount intercepts: RBX_OPEN_CLOUD_URL names the fixture's loopback server.
    kwargs.setdefault("base_url", "https://apis.roblox.com")
    return SecretsClient(cloud.universe_id, api_key=cloud.api_key, session=session, **kwargs)


class CannedAdapter(BaseAdapter):
    """Answers each request with the next scripted ``(status, body, headers)``.

    ``body`` is a dict (sent as JSON), bytes or str. Records every prepared request.
    """

    def __init__(self, *answers: tuple[int, Any, dict[str, str]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        status, body, headers = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response.request = request
        response.url = request.url or ""
        if isinstance(body, (dict, list)):
            response._content = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **headers}
        else:
            response._content = body.encode() if isinstance(body, str) else body
        response.headers = CaseInsensitiveDict(headers)
        return response

    def close(self) -> None:
        pass


def canned_client(
    *answers: tuple[int, Any, dict[str, str]], **kwargs: Any
) -> tuple[SecretsClient, CannedAdapter]:
    """A client on https://apis.roblox.com whose session answers from a script."""
    adapter = CannedAdapter(*answers)
    session = requests.Session()
    session.mount("https://apis.roblox.com", adapter)
    kwargs.setdefault("rate_limit", None)
    kwargs.setdefault("api_key", "canned-api-key-0123456789")
    client = SecretsClient(123, session=session, **kwargs)
    return client, adapter


def strings_reachable_from(error: BaseException) -> Iterator[str]:
    """``str``, ``repr``, args and attribute reprs of an exception and its whole chain."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        for arg in current.args:
            yield repr(arg)
        for name, value in vars(current).items():
            yield f"{name}={value!r}"
            if isinstance(value, requests.PreparedRequest):
                yield repr(dict(value.headers))
                yield repr(value.body)
        pending.extend([current.__cause__, current.__context__])


@dataclass
class Prompt:
    """Stands in for ``getpass.getpass``: answers from a queue and records the prompts."""

    answers: list[Any] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)

    def __call__(self, prompt: str = "Password: ", stream: Any = None) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise AssertionError(f"unexpected prompt: {prompt!r}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException) or (
            isinstance(answer, type) and issubclass(answer, BaseException)
        ):
            raise answer
        return answer


@dataclass
class MagicShell:
    """The shell plus helpers to run cells and look for leaks."""

    ip: InteractiveShell
    prompt: Prompt
    capsys: pytest.CaptureFixture[str]
    output: str = ""

    @property
    def magics(self) -> Any:
        return self.ip.magics_manager.registry["RbxSecretsMagics"]

    def run(self, cell: str) -> ExecutionResult:
        """Run ``cell`` as a user would (stored in history) and collect what it printed."""
        result = self.ip.run_cell(cell, store_history=True)
        captured = self.capsys.readouterr()
        self.output += captured.out + captured.err
        self.last_output = captured.out + captured.err
        return result

    def ok(self, cell: str) -> ExecutionResult:
        """Run ``cell`` and require success."""
        result = self.run(cell)
        assert result.success, (result.error_in_exec, self.last_output)
        return result

    def usage_error(self, cell: str) -> str:
        """Run ``cell``, require a plain one-line UsageError, and return its message."""
        result = self.run(cell)
        error = result.error_in_exec
        assert type(error) is UsageError, (error, self.last_output)
        message = str(error)
        assert "\n" not in message
        assert f"UsageError: {message}" in self.last_output
        assert "Traceback" not in self.last_output
        return message

    def seed(self, *names: str, domain: str | None = None) -> None:
        """Set each of ``names`` through the magic, to ``value-of-NAME-secret``."""
        option = f" --domain '{domain}'" if domain is not None else ""
        for name in names:
            self.ip.user_ns["_v"] = f"value-of-{name}-secret"
            self.ok(f"%rbx_secret_set {name} --from-var _v{option}")

    def history_text(self) -> str:
        """Everything the history database holds: inputs (parsed and raw) and outputs."""
        hm = self.ip.history_manager
        hm.writeout_cache()
        with sqlite3.connect(hm.hist_file) as db:
            rows = db.execute("SELECT source, source_raw FROM history").fetchall()
            rows += db.execute("SELECT output, '' FROM output_history").fetchall()
        return "\n".join(a + "\n" + b for a, b in rows)

    def assert_nowhere(self, *secrets: str) -> None:
        """No secret in any output, In, Out, the _i variables or the history database."""
        places = {
            "output": self.output,
            "In": "\n".join(self.ip.user_ns["In"]),
            "Out": "\n".join(repr(v) for v in self.ip.user_ns["Out"].values()),
            "_i vars": "\n".join(
                str(v)
                for k, v in self.ip.user_ns.items()
                if k.startswith("_i") and isinstance(v, str)
            ),
            "history db": self.history_text(),
            "magics repr": repr(self.magics) + repr(vars(self.magics).get("_trait_values")),
        }
        for secret in secrets:
            for where, text in places.items():
                assert secret not in text, f"secret found in {where}"
