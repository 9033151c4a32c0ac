"""Issue 8, A2: without a controlling terminal the masked prompt cannot hide what is typed.

A real ``ipython`` runs under ``setsid`` (no controlling terminal, like ``docker exec -i`` or
``ssh host ipython`` without ``-t``) with its stdin a pipe. ``getpass`` would warn, read the next
line of the pipe as the value and go on; the magics must refuse before reading anything and
name the other sources they take.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

IPYTHON = Path(sys.executable).with_name("ipython")
NEXT_LINE = "print('next-line-' + 'ran-as-code')  # S3CRET-NEXT-LINE"

pytestmark = pytest.mark.skipif(
    shutil.which("setsid") is None or os.name == "nt", reason="needs setsid (util-linux)"
)


def _run_piped(cloud: Any, tmp_path: Path, *lines: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    env.update(
        HOME=str(tmp_path),
        IPYTHONDIR=str(tmp_path / "ipython"),
        TERM="dumb",
        RBX_OPEN_CLOUD_URL=cloud.url,
        RBX_UNIVERSE_ID=str(cloud.universe_id),
        RBX_API_KEY=cloud.api_key,
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    )
    script = "\n".join(["%load_ext rbxsecrets_magic", *lines, "exit"]) + "\n"
    done = subprocess.run(
        ["setsid", "--wait", str(IPYTHON), "--simple-prompt", "--no-banner", "--colors=nocolor"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    ("magic", "sources"),
    [
        ("%rbx_secret_set api_token", ("--from-env", "--from-file", "--from-var")),
        ("%rbx_secret_set api_token --confirm", ("--from-env", "--from-file", "--from-var")),
        ("%rbx_secret_login", ("--from-env", "--from-file")),
    ],
)
def test_no_terminal_refuses_before_reading(
    fake_open_cloud: Any, tmp_path: Path, magic: str, sources: tuple[str, ...]
) -> None:
    output = _run_piped(fake_open_cloud, tmp_path, magic, NEXT_LINE)
    assert "GetPassWarning" not in output and "echo" not in output.lower()
    # The line after the magic was not eaten as the value: it ran as code.
    assert "next-line-ran-as-code" in output
    assert fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == []
    usage = [line for line in output.splitlines() if "UsageError" in line]
    assert len(usage) == 1, output
    assert "terminal" in usage[0]
    for source in sources:
        assert source in usage[0]
    if "--from-var" not in sources:
        assert "--from-var" not in usage[0]


def test_other_sources_still_work_without_a_terminal(fake_open_cloud: Any, tmp_path: Path) -> None:
    output = _run_piped(
        fake_open_cloud,
        tmp_path,
        "tok = 'piped-' + 'value-1'",
        "%rbx_secret_set api_token --from-var tok",
    )
    assert "Created secret 'api_token'" in output, output
    assert fake_open_cloud.plaintext("api_token") == "piped-value-1"
