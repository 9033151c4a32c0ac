"""Issue 8, E18, E19, E21: messages a newcomer meets, as they meet them.

(E16, the mistyped option, is in ``test_line_redaction.py``; E22, the README, in
``test_readme_newcomer.py``.)
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell

IPYTHON = Path(sys.executable).with_name("ipython")


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_leaving_the_prompt_ends_its_line(fake_open_cloud: Any, tmp_path: Path, key: str) -> None:
    # A real terminal: the standard library's getpass writes the prompt and, when the user
    # leaves with Ctrl-C or Ctrl-D, no newline; the message must not start on that line.
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    env.update(
        HOME=str(tmp_path),
        IPYTHONDIR=str(tmp_path / "ipython"),
        TERM="dumb",
        RBX_OPEN_CLOUD_URL=fake_open_cloud.url,
        RBX_UNIVERSE_ID=str(fake_open_cloud.universe_id),
        RBX_API_KEY=fake_open_cloud.api_key,
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    )
    seen = io.StringIO()
    child = pexpect.spawn(
        str(IPYTHON),
        ["--simple-prompt", "--no-banner", "--colors=nocolor"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
    )
    child.logfile_read = seen
    try:
        child.expect(r"In \[1\]:")
        child.sendline("%load_ext rbxsecrets_magic")
        child.expect(r"In \[2\]:")
        child.sendline("%rbx_secret_set api_token")
        child.expect(r"Value for api_token \(universe \d+\): ")
        if key == "ctrl-c":
            child.sendintr()
        else:
            child.sendeof()
        child.expect("UsageError")
        child.expect(r"In \[3\]:")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    text = seen.getvalue()
    between = text.split("): ", 1)[1].split("UsageError", 1)[0]
    assert "\n" in between, repr(text)
    assert "Cancelled at the prompt" in text


def test_from_env_names_a_missing_variable_and_mentions_env(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    message = s.usage_error("%rbx_secret_set api_token --from-env NOPE_VAR")
    assert "NOPE_VAR" in message and "%env" in message
    assert "NOPE_VAR" in s.ip.user_ns["In"][-1]  # nothing to redact: it is a variable's name
    message = s.usage_error("%rbx_secret_set api_token --from-env 'not a Var-S3CRET'")
    assert "S3CRET" not in message and "%env" in message


def test_logout_says_what_is_in_use_now(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    s.ok("%rbx_secret_logout")
    assert "again" not in s.last_output
    assert "RBX_API_KEY from the environment is used now" in s.last_output
    s.ok("%rbx_secret_logout")
    assert "There was no session API key" in s.last_output
    assert "again" not in s.last_output and "used now" in s.last_output
    monkeypatch.delenv("RBX_API_KEY")
    s.ok("%rbx_secret_logout")
    assert "no API key is set now" in s.last_output and "%rbx_secret_login" in s.last_output
    s.prompt.answers = [s.cloud.api_key]
    s.ok("%rbx_secret_login")
    s.ok(f"%rbx_secret_logout --universe {s.cloud.universe_id}")
    assert "the session API key given for every universe is used now" in s.last_output
