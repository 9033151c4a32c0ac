"""The README's secrets-as-code example, run as written against the fake.

The README's manifest (its ``toml`` block) is written to ``rbxsecrets.toml``; the GitHub Actions
workflow (its ``yaml`` block) is parsed, and the step that runs ``rbx-secrets`` runs in a real
shell with that step's ``env:``, each ``${{ secrets.NAME }}`` replaced by a test value, and
``RBX_OPEN_CLOUD_URL`` pointing at the fake. ``rbx-secrets`` is this checkout's
``python -m rbxsecrets_magic``, the target of the console script.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
SECRET_REF = re.compile(r"^\$\{\{\s*secrets\.(\w+)\s*\}\}$")


def block(lang: str, containing: str) -> str:
    for match in re.finditer(rf"^```{lang}\n(.*?)^```$", README, re.MULTILINE | re.DOTALL):
        if containing in match.group(1):
            return match.group(1)
    raise AssertionError(f"no {lang} block with {containing!r} in README.md")


def workflow_step() -> dict[str, Any]:
    workflow = yaml.safe_load(block("yaml", "rbx-secrets apply"))
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    (step,) = [s for s in steps if str(s.get("run", "")).startswith("rbx-secrets")]
    return step


def test_console_script_is_the_cli() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["rbx-secrets"] == "rbxsecrets_magic.cli:main"


@pytest.mark.skipif(os.name != "posix", reason="runs the workflow's shell step")
def test_github_actions_example_runs_as_written(
    fake_open_cloud_factory: Any, tmp_path: Path
) -> None:
    manifest_text = block("toml", "[environments]")
    manifest = tomllib.loads(manifest_text)
    staging = manifest["environments"]["staging"]
    production = manifest["environments"]["production"]
    cloud = fake_open_cloud_factory(universes=[staging, production])
    work = tmp_path / "repo"
    work.mkdir()
    (work / "rbxsecrets.toml").write_text(manifest_text, encoding="utf-8")
    shim = tmp_path / "bin" / "rbx-secrets"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m rbxsecrets_magic "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)

    step = workflow_step()
    secrets = {name: f"ci-value-of-{name.lower()}" for name in manifest["secrets"]}
    secrets["RBX_API_KEY"] = cloud.api_key
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    for name, value in step["env"].items():
        ref = SECRET_REF.match(str(value))
        env[name] = secrets[ref.group(1)] if ref else str(value)
    env.update(
        PATH=f"{shim.parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO),
        RBX_OPEN_CLOUD_URL=cloud.url,
        RBX_SECRETS_STATE_DIR=str(tmp_path / "state"),
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/sh", "-c", step["run"]],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = run()
    assert done.returncode == 0, done.stderr
    assert cloud.fake.secret_ids(staging) == []
    production_secrets = cloud.fake.snapshot()[production]
    assert production_secrets == {
        "DISCORD_WEBHOOK": ("discord.com", secrets["DISCORD_WEBHOOK"]),
        "STRIPE_KEY": ("*.stripe.com", secrets["STRIPE_KEY"]),
        "ANALYTICS_KEY": (None, secrets["ANALYTICS_KEY"]),
    }
    for value in secrets.values():
        assert value not in done.stdout + done.stderr

    # The same job again on the same machine: nothing to write.
    cloud.fake.clear_journal()
    again = run()
    assert again.returncode == 0, again.stderr
    assert [e.method for e in cloud.fake.journal] == ["GET", "GET"]

    # A secret the workflow's secrets lack arrives empty: that row fails, and so does the job.
    env["STRIPE_KEY"] = ""
    missing = run()
    assert missing.returncode == 1
    assert "STRIPE_KEY" in missing.stdout + missing.stderr
    assert cloud.fake.plaintext(production, "STRIPE_KEY") == secrets["STRIPE_KEY"]
