"""A real IPython shell with the extension loaded, pointed at a served fake, for magic tests.

Imported by the ``test_magics*.py`` modules (pytest puts this directory on ``sys.path``).
The shell keeps its history in a temporary SQLite file, with outputs logged too, so tests can
prove a value never reached it.
"""

from __future__ import annotations

import atexit
import getpass
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config

ENV_VARS = ("RBX_UNIVERSE_ID", "RBX_API_KEY", "RBX_OAUTH_TOKEN", "RBX_OPEN_CLOUD_URL")


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
            "_i vars": "\n".join(str(v) for k, v in self.ip.user_ns.items()
                                 if k.startswith("_i") and isinstance(v, str)),
            "history db": self.history_text(),
            "magics repr": repr(self.magics) + repr(vars(self.magics).get("_trait_values")),
        }
        for secret in secrets:
            for where, text in places.items():
                assert secret not in text, f"secret found in {where}"


@pytest.fixture
def shell(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[MagicShell]:
    """A fresh InteractiveShell with the extension loaded and no RBX_* configuration."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    prompt = Prompt()
    monkeypatch.setattr(getpass, "getpass", prompt)
    config = Config()
    config.HistoryManager.hist_file = str(tmp_path / "history.sqlite")
    config.HistoryManager.db_log_output = True
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "rbxsecrets_magic")
    capsys.readouterr()
    yield MagicShell(ip, prompt, capsys)
    # Close history (stops its saving thread) now rather than at interpreter exit.
    atexit.unregister(ip.atexit_operations)
    ip.atexit_operations()
    ip.cleanup()
    InteractiveShell.clear_instance()


@pytest.fixture
def cloud_shell(shell: MagicShell, fake_open_cloud: Any,
                monkeypatch: pytest.MonkeyPatch) -> MagicShell:
    """``shell`` configured against the served fake: universe, URL, API key in the env."""
    monkeypatch.setenv("RBX_API_KEY", fake_open_cloud.api_key)
    shell.ok(f"%config RbxSecretsMagics.base_url = {fake_open_cloud.url!r}")
    shell.ok(f"%config RbxSecretsMagics.universe_id = {fake_open_cloud.universe_id}")
    shell.ok("%config RbxSecretsMagics.max_retries = 1")
    shell.cloud = fake_open_cloud  # type: ignore[attr-defined]
    return shell
