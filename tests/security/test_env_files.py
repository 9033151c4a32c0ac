"""Issue 8, A5: a .env file is read as written; ``${VAR}`` never pulls in the kernel's environment.

An untrusted file with ``INNOCENT=${RBX_API_KEY}`` would otherwise upload the API key as a
secret's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rbxsecrets_magic.values import read_env_file

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell

UNTRUSTED = 'INNOCENT=${RBX_API_KEY}\nQUOTED="x-${RBX_API_KEY}-y"\nDEFAULTED=${NOT_SET_9:-d}\n'


def test_read_env_file_does_not_interpolate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RBX_API_KEY", "the-api-key-S3CRET")
    (tmp_path / ".env").write_text(UNTRUSTED)
    values = read_env_file(str(tmp_path / ".env"))
    assert values == {
        "INNOCENT": "${RBX_API_KEY}",
        "QUOTED": "x-${RBX_API_KEY}-y",
        "DEFAULTED": "${NOT_SET_9:-d}",
    }


def test_the_magic_uploads_the_text_not_the_api_key(
    cloud_shell: MagicShell, tmp_path: Path
) -> None:
    s = cloud_shell
    (tmp_path / ".env").write_text(UNTRUSTED)
    s.ok(f"%rbx_secret_set --env-file {tmp_path / '.env'}")
    assert s.cloud.plaintext("INNOCENT") == "${RBX_API_KEY}"
    assert s.cloud.plaintext("QUOTED") == "x-${RBX_API_KEY}-y"
    key = s.cloud.api_key
    for name in ("INNOCENT", "QUOTED", "DEFAULTED"):
        assert key not in s.cloud.plaintext(name)
    s.assert_nowhere(key)
