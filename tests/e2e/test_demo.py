"""``rbx-secrets-demo``: the offline shell a new user starts first, and its real-service mode.

The terminal tests drive the installed console script with pexpect, like a person at a
terminal; the in-process tests check what the demo hands to IPython without starting it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
import requests

from rbxsecrets_magic import demo

pytestmark = pytest.mark.e2e

TYPED = "typed-at-the-demo-prompt"
ESC = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"  # terminal control sequences prompt_toolkit may interleave


def _demo_command() -> str:
    script = Path(sys.executable).with_name("rbx-secrets-demo")
    found = str(script) if script.exists() else shutil.which("rbx-secrets-demo")
    if found is None:
        pytest.fail("the rbx-secrets-demo console script is not installed (pip install -e .)")
    return found


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    env.update(IPYTHONDIR=str(tmp_path / "ipython"), TERM="xterm", **extra)
    return env


def _spawn(tmp_path: Path, env: dict[str, str], *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        _demo_command(),
        ["--colors=nocolor", *args],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    child.logfile_read = (tmp_path / "terminal.log").open("w")
    return child


def _prompt(child: pexpect.spawn, number: int) -> None:
    child.expect_exact(f"In [{number}]:")


def _quit(child: pexpect.spawn) -> None:
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    child.logfile_read.close()
    assert child.exitstatus == 0


def test_offline_demo_sets_a_typed_value_and_the_fake_decrypts_it(tmp_path: Path) -> None:
    child = _spawn(tmp_path, _clean_env(tmp_path))
    child.expect(r"offline, against a fake Open Cloud at http://127\.0\.0\.1:\d+")
    child.expect(r"Universe (\d+) \(also in the variable UNIVERSE\)")
    universe = child.match.group(1)
    child.expect_exact('fake.plaintext(UNIVERSE, "api_token")')
    _prompt(child, 1)

    child.sendline("%rbx_secret_set api_token")
    child.expect_exact(f"Value for api_token (universe {universe}): ")
    child.sendline(TYPED)
    child.expect(rf"Created secret 'api_token' in universe {universe}: {len(TYPED)} characters")
    assert TYPED not in child.before, "the masked prompt echoed the value"
    _prompt(child, 2)

    child.sendline(f'fake.plaintext(UNIVERSE, "api_token") == "{TYPED}"')
    child.expect(rf"Out\[2\]: {ESC}True")
    _prompt(child, 3)
    child.sendline("%rbx_secret_list")
    child.expect(r"1 secret in universe \d+")
    child.expect_exact("api_token")
    _prompt(child, 4)
    _quit(child)


def test_with_credentials_in_the_environment_the_demo_uses_that_service(tmp_path: Path) -> None:
    # A separate rbx-fakeserver process stands in for the real service.
    server = subprocess.Popen(
        [sys.executable, "-m", "fakeserver", "--expose-plaintext"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        universe = ready["universe_ids"][0]
        env = _clean_env(
            tmp_path,
            RBX_API_KEY=ready["api_key"],
            RBX_UNIVERSE_ID=str(universe),
            RBX_OPEN_CLOUD_URL=ready["url"],
        )
        child = _spawn(tmp_path, env)
        child.expect_exact(f"universe {universe} at {ready['url']}, from RBX_UNIVERSE_ID")
        _prompt(child, 1)
        child.sendline("%rbx_secret_set api_token")
        child.expect_exact("Value for api_token")
        child.sendline(TYPED)
        child.expect_exact(f"Created secret 'api_token' in universe {universe}")
        _prompt(child, 2)
        child.sendline("'fake' in dir()")
        child.expect(rf"Out\[2\]: {ESC}False")
        _prompt(child, 3)
        _quit(child)

        answer = requests.get(
            f"{ready['url']}/_fake/universes/{universe}/secrets/api_token/plaintext",
            headers={"x-api-key": ready["api_key"]},
            timeout=10,
        )
        assert answer.json()["value"] == TYPED
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def captured_shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Replace the IPython shell with a recorder that also checks the fake while it runs."""
    calls: list[dict[str, Any]] = []

    def record(ipython_argv: list[str], banner: str, user_ns: dict[str, Any]) -> None:
        env = {k: v for k, v in os.environ.items() if k.startswith("RBX_")}
        call: dict[str, Any] = {"argv": ipython_argv, "banner": banner, "ns": user_ns, "env": env}
        if "fake" in user_ns:
            from rbxsecrets_magic import SecretsClient

            # What a user could type in the demo: the client alone, configured by the demo.
            SecretsClient(user_ns["UNIVERSE"]).set("from_client", "client-value")
            call["decrypted"] = user_ns["fake"].plaintext(user_ns["UNIVERSE"], "from_client")
        calls.append(call)

    for name in ("RBX_API_KEY", "RBX_UNIVERSE_ID", "RBX_OPEN_CLOUD_URL", "RBX_OAUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(demo, "_start_shell", record)
    yield calls


def test_offline_configures_the_extension_and_restores_the_environment(
    captured_shell: list[dict[str, Any]],
) -> None:
    assert demo.main(["--simple-prompt"]) == 0
    (call,) = captured_shell
    universe = call["ns"]["UNIVERSE"]
    url = call["env"]["RBX_OPEN_CLOUD_URL"]
    assert call["argv"] == [
        f"--RbxSecretsMagics.universe_id={universe}",
        f"--RbxSecretsMagics.base_url={url}",
        "--simple-prompt",
    ]
    assert call["decrypted"] == "client-value"
    assert call["env"]["RBX_UNIVERSE_ID"] == str(universe)
    assert call["env"]["RBX_API_KEY"] not in call["banner"]
    assert f"Universe {universe}" in call["banner"]
    assert not [k for k in os.environ if k.startswith("RBX_")]


def test_credentials_in_the_environment_select_the_real_service(
    captured_shell: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RBX_API_KEY", "not-a-real-key")
    monkeypatch.setenv("RBX_UNIVERSE_ID", "6930499524")
    assert demo.main([]) == 0
    (call,) = captured_shell
    assert call["argv"] == [] and call["ns"] == {}
    assert "universe 6930499524 at https://apis.roblox.com, from RBX_UNIVERSE_ID" in call["banner"]
    assert "not-a-real-key" not in call["banner"]


def test_offline_flag_wins_over_credentials(
    captured_shell: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RBX_API_KEY", "not-a-real-key")
    monkeypatch.setenv("RBX_UNIVERSE_ID", "6930499524")
    assert demo.main(["--offline"]) == 0
    (call,) = captured_shell
    assert call["decrypted"] == "client-value"
    assert call["env"]["RBX_API_KEY"] != "not-a-real-key"
    assert os.environ["RBX_API_KEY"] == "not-a-real-key"


def test_half_configured_environment_says_why_it_runs_offline(
    captured_shell: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RBX_API_KEY", "not-a-real-key")
    assert demo.main([]) == 0
    assert "RBX_UNIVERSE_ID is not set, so the demo runs offline" in capsys.readouterr().err
    (call,) = captured_shell
    assert "fake" in call["ns"]


def test_offline_demo_keeps_fingerprints_out_of_the_users_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import io

    from rbxsecrets_magic.cli.app import Console, main

    home_state = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home_state))
    for name in ("RBX_API_KEY", "RBX_UNIVERSE_ID", "RBX_OPEN_CLOUD_URL", "RBX_SECRETS_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    seen: list[Path] = []

    def apply_in_the_demo(ipython_argv: list[str], banner: str, user_ns: dict[str, Any]) -> None:
        # What the demo's user does with the CLI from its shell: a write that records state.
        err = io.StringIO()
        environ = {**os.environ, "V": "a-demo-value"}
        console = Console(stdout=io.StringIO(), stderr=err, stdin=io.StringIO(), environ=environ)
        assert main(["set", "DEMO", "--from-env", "V"], console) == 0, err.getvalue()
        assert "not recorded" not in err.getvalue()
        seen.append(Path(os.environ["RBX_SECRETS_STATE_DIR"]))
        assert list(seen[0].iterdir())  # the demo's state was written, somewhere of its own

    monkeypatch.setattr(demo, "_start_shell", apply_in_the_demo)
    assert demo.main([]) == 0
    assert not home_state.exists()
    assert not seen[0].exists()  # gone with the fake it described
    assert "RBX_SECRETS_STATE_DIR" not in os.environ
