"""The release is consistent: one version, a changelog that lists it, docs that install it.

Building and installing the release is ``.ci/release-check``'s job (it runs in ``.ci/run``);
these tests pin what a release depends on and what a reader is told about it.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

import rbxsecrets_magic

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
README = (REPO / "README.md").read_text(encoding="utf-8")
CHANGELOG = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
_RELEASED = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def _released() -> list[str]:
    return [match[1] for match in _RELEASED.finditer(CHANGELOG)]


def test_the_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "rbxsecrets_magic.version.__version__"}
    # The installed metadata (editable here, the wheel in .ci/release-check) agrees.
    assert version("rbxsecrets-magic") == rbxsecrets_magic.__version__


def test_the_changelog_has_unreleased_then_released_versions_newest_first() -> None:
    headings = re.findall(r"^## (.*)$", CHANGELOG, re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    released = _released()
    assert len(released) == len(headings) - 1, "every other heading is '[X.Y.Z] - YYYY-MM-DD'"
    as_numbers = [tuple(int(part) for part in v.split(".")) for v in released]
    assert as_numbers == sorted(as_numbers, reverse=True)
    # Each version heading has its link at the bottom, as Keep a Changelog does.
    for name in ["Unreleased", *released]:
        assert f"\n[{name}]: " in CHANGELOG


def test_the_actions_example_installs_a_released_tag_not_a_branch() -> None:
    block = re.search(r"^```yaml\n(.*?)^```$", README, re.MULTILINE | re.DOTALL)
    assert block is not None
    steps = [s for job in yaml.safe_load(block[1])["jobs"].values() for s in job["steps"]]
    installs = [str(s["run"]) for s in steps if str(s.get("run", "")).startswith("pip install")]
    assert len(installs) == 1
    pinned = re.fullmatch(
        r'pip install "rbxsecrets-magic @ git\+https://\S+@v([\d.]+)"', installs[0]
    )
    assert pinned is not None, installs[0]
    assert pinned[1] in _released()


def test_the_readme_names_the_wheel_this_version_builds() -> None:
    wheel = f"dist/rbxsecrets_magic-{rbxsecrets_magic.__version__}-py3-none-any.whl"
    assert wheel in README
    assert "pip install rbxsecrets-magic` finds nothing" in README  # until it is published


def test_ci_builds_and_smoke_tests_the_release_with_pinned_tools() -> None:
    release = PYPROJECT["project"]["optional-dependencies"]["release"]
    assert sorted(name.split("==")[0] for name in release) == ["build", "twine"]
    assert all("==" in name for name in release)
    run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash .ci/release-check" in run and "release]" in run
    check = (REPO / ".ci" / "release-check").read_text(encoding="utf-8")
    for smoke in ('rbx-secrets" --help', "rbx-secrets-demo", "-m fakeserver --help", "pytest"):
        assert smoke in check


def test_every_subpackage_is_found_and_ships_its_marker() -> None:
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
    assert find["include"] == ["rbxsecrets_magic*", "fakeserver*"]
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert data == {"rbxsecrets_magic": ["py.typed"], "fakeserver": ["py.typed"]}
