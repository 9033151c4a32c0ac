"""The ``ipython`` terminal, driven through a pseudo-terminal: the typed value is not echoed.

Runs both the simple prompt and the full prompt_toolkit prompt. HOME and IPYTHONDIR point into
a temporary directory, so no user configuration or history is touched; the history database
there is checked for the value afterwards.
"""

from __future__ import annotations

import io
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.e2e

VALUE = "typed-at-the-terminal-Zq9 value"
IPYTHON = Path(sys.executable).with_name("ipython")


@pytest.mark.parametrize("simple_prompt", [True, False], ids=["simple-prompt", "prompt-toolkit"])
def test_typed_value_is_not_echoed_and_arrives(
    fake_open_cloud: Any, tmp_path: Path, simple_prompt: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    env.update(
        HOME=str(tmp_path),
        IPYTHONDIR=str(tmp_path / "ipython"),
        TERM="xterm" if not simple_prompt else "dumb",
        PROMPT_TOOLKIT_NO_CPR="1",  # no terminal here answers cursor position requests
        RBX_OPEN_CLOUD_URL=fake_open_cloud.url,
        RBX_UNIVERSE_ID=str(fake_open_cloud.universe_id),
        RBX_API_KEY=fake_open_cloud.api_key,
    )
    args = ["--no-banner", "--colors=nocolor", "--no-confirm-exit"]
    if simple_prompt:
        args.append("--simple-prompt")
    seen = io.StringIO()
    child = pexpect.spawn(
        str(IPYTHON),
        args,
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.logfile_read = seen
    try:
        child.expect(r"In \[1\]:")
        child.sendline("%load_ext rbxsecrets_magic")
        child.expect(r"In \[2\]:")
        child.sendline("%rbx_secret_set api_token")
        child.expect(r"Value for api_token \(universe \d+\): ")
        child.sendline(VALUE)
        child.expect("Created secret 'api_token'")
        child.expect(r"In \[3\]:")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert fake_open_cloud.plaintext("api_token") == VALUE
    assert VALUE not in seen.getvalue()
    with sqlite3.connect(tmp_path / "ipython" / "profile_default" / "history.sqlite") as db:
        rows = db.execute("SELECT source_raw FROM history").fetchall()
    assert ("%rbx_secret_set api_token",) in rows
    assert not any(VALUE in raw for (raw,) in rows)
