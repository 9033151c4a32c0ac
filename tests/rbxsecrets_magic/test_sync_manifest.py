"""The manifest: its rules, each broken one a single line naming the file and table."""

from __future__ import annotations

from pathlib import Path

import pytest

from rbxsecrets_magic.errors import InvalidInputError
from rbxsecrets_magic.secrets_as_code.desired import desired_state
from rbxsecrets_magic.secrets_as_code.manifest import (
    ManifestError,
    SecretSpec,
    Target,
    find_manifest,
    load_manifest,
)

ISSUE_EXAMPLE = """
[environments]
staging = 1234567
production = 7654321

[secrets.DISCORD_WEBHOOK]
domain = "discord.com"

[secrets.STRIPE_KEY]
domain = "*.stripe.com"
environments = ["production"]     # default: every environment

[secrets.ANALYTICS_KEY]           # no domain: private

[prune]
protect = ["LEGACY_*"]            # never deleted by --prune
"""


def write(tmp_path: Path, text: str, name: str = "rbxsecrets.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_issue_example_reads_as_written(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    assert dict(manifest.environments) == {"staging": 1234567, "production": 7654321}
    assert manifest.secrets["DISCORD_WEBHOOK"] == SecretSpec("DISCORD_WEBHOOK", "discord.com")
    assert manifest.secrets["STRIPE_KEY"] == SecretSpec(
        "STRIPE_KEY", "*.stripe.com", ("production",)
    )
    assert manifest.secrets["ANALYTICS_KEY"] == SecretSpec("ANALYTICS_KEY", "")
    assert manifest.protect == ("LEGACY_*",)
    staging = [s.id for s in manifest.secrets_for(Target(1234567, "staging"))]
    production = [s.id for s in manifest.secrets_for(Target(7654321, "production"))]
    assert staging == ["DISCORD_WEBHOOK", "ANALYTICS_KEY"]
    assert production == ["DISCORD_WEBHOOK", "STRIPE_KEY", "ANALYTICS_KEY"]


@pytest.mark.parametrize(
    ("text", "table", "problem"),
    [
        ("[secrets.A]\ndomian = 'x.com'\n", "[secrets.A]", "unknown key 'domian'"),
        ("[prune]\nkeep = []\n", "[prune]", "unknown key 'keep'"),
        ("[secrets.1BAD]\n", "[secrets]", "'1BAD' is not a valid secret id"),
        ("[secrets.A]\ndomain = 'https://x.com'\n", "[secrets.A]", "drop the scheme"),
        (
            "[environments]\nstaging = 1\n[secrets.A]\nenvironments = ['prod']\n",
            "[secrets.A]",
            "unknown environment 'prod'",
        ),
        (
            "[environments]\nstaging = 5\nproduction = 5\n",
            "[environments]",
            "production and staging are the same universe 5",
        ),
        (
            "[environments]\nstaging = 1\n[secrets.A]\nenvironments = []\n",
            "[secrets.A]",
            "listed for no environment",
        ),
        ("[environments]\nstaging = 'abc'\n", "[environments]", "must be a universe id"),
        ("[environments]\nstaging = -3\n", "[environments]", "is not a universe id"),
        ("[environments]\n12 = 3\n", "[environments]", "environment name '12'"),
        ("[prune]\nprotect = 'LEGACY_*'\n", "[prune]", "protect must be an array"),
    ],
)
def test_each_rule_is_one_line_naming_file_and_table(
    tmp_path: Path, text: str, table: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {table}: "), message
    assert problem in message
    assert "\n" not in message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[environment]\nstaging = 1\n")
    with pytest.raises(ManifestError, match=r": unknown table or key 'environment'"):
        load_manifest(path)


def test_a_value_typed_into_the_manifest_is_refused_and_not_repeated(tmp_path: Path) -> None:
    path = write(tmp_path, "[secrets]\nAPI_TOKEN = 'sk_live_hunter2'\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert "sk_live_hunter2" not in str(caught.value)
    assert "values never go in the manifest" in str(caught.value)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[secrets.A\n")
    with pytest.raises(ManifestError, match=r"not valid TOML"):
        load_manifest(path)


@pytest.mark.parametrize(
    "nested",
    ["x = " + "[" * 1000 + "]" * 1000, "x = " + "{a = " * 1000 + "1" + "}" * 1000],
    ids=["arrays", "inline tables"],
)
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path, nested: str) -> None:
    """Issue 18, B8: 1,000 nested arrays used to raise RecursionError from tomllib."""
    path = write(tmp_path, f"[environments]\nstaging = 1\n[secrets.A]\n{nested}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid TOML") and "nested" in message
    assert "\n" not in message and caught.value.__cause__ is None


def test_a_deep_manifest_through_the_command_line_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.rbxsecrets_magic.sync_helpers import rbx

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RBX_API_KEY", "k" * 20)
    write(tmp_path, "[environments]\nstaging = 1\n[secrets.A]\nx = " + "[" * 1000 + "]" * 1000)
    result = rbx("plan")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "nested" in result.err and "Traceback" not in result.err


def test_duplicate_secret_table_is_a_toml_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[secrets.A]\n[secrets.A]\n")
    with pytest.raises(ManifestError, match=r"not valid TOML"):
        load_manifest(path)


def test_find_manifest_defaults_to_rbxsecrets_toml(tmp_path: Path) -> None:
    assert find_manifest(None, tmp_path) is None
    write(tmp_path, ISSUE_EXAMPLE)
    assert find_manifest(None, tmp_path) == str(tmp_path / "rbxsecrets.toml")
    with pytest.raises(ManifestError, match="--manifest does not exist"):
        find_manifest(str(tmp_path / "nope.toml"))


def test_targets_from_ids_names_and_comma_lists(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    assert manifest.targets(["staging,7654321"]) == [
        Target(1234567, "staging"),
        Target(7654321, "production"),
    ]
    assert manifest.targets([], ["production"]) == [Target(7654321, "production")]
    # The same universe named twice is targeted once.
    assert manifest.targets(["1234567"], ["staging"]) == [Target(1234567, "staging")]
    # An id the manifest does not name is accepted, without an environment.
    assert manifest.targets(["42"]) == [Target(42, None)]
    # Default: RBX_UNIVERSE_ID, else every environment.
    assert manifest.targets([], default="7654321") == [Target(7654321, "production")]
    assert [t.universe_id for t in manifest.targets([])] == [1234567, 7654321]


def test_unknown_target_names_are_not_repeated(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    with pytest.raises(ManifestError) as caught:
        manifest.targets(["sk_live_typo"])
    assert "sk_live_typo" not in str(caught.value)
    assert "staging, production" in str(caught.value)
    with pytest.raises(ManifestError, match="--environment: unknown environment"):
        manifest.targets([], ["qa"])


def test_env_file_alone_is_the_desired_state(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=v4lue_one\nB='two words'\n", encoding="utf-8")
    desired = desired_state(
        None, env_file=str(env), universes=["5"], domain="*.Example.com", environ={}
    )
    assert desired.targets == (Target(5, None),)
    assert [s.id for s in desired.secrets[5]] == ["A", "B"]
    assert {s.domain for s in desired.secrets[5]} == {"*.example.com"}
    revealed = {k: v.reveal() for k, v in desired.values.items()}
    assert revealed == {"A": "v4lue_one", "B": "two words"}
    assert "v4lue_one" not in repr(desired) and "two words" not in repr(desired)


def test_no_manifest_and_no_env_file_is_a_usage_error() -> None:
    with pytest.raises(InvalidInputError, match="nothing to compare with"):
        desired_state(None, env_file=None, universes=["5"], environ={})


def test_domain_with_a_manifest_is_refused(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    with pytest.raises(InvalidInputError, match="--domain applies only without a manifest"):
        desired_state(manifest, env_file=None, domain="x.com", environ={})


def test_values_file_first_then_environment_and_problems_per_secret(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    env = tmp_path / ".env"
    env.write_text("DISCORD_WEBHOOK=from-file\nUNLISTED=x\n", encoding="utf-8")
    desired = desired_state(
        manifest,
        env_file=str(env),
        environments=["production"],
        environ={"DISCORD_WEBHOOK": "from-env", "STRIPE_KEY": "y" * 1025, "ANALYTICS_KEY": ""},
    )
    assert desired.values["DISCORD_WEBHOOK"].reveal() == "from-file"
    assert set(desired.problems) == {"STRIPE_KEY", "ANALYTICS_KEY"}
    assert "over Roblox's limit" in desired.problems["STRIPE_KEY"]
    assert "y" * 20 not in desired.problems["STRIPE_KEY"]
    assert "empty" in desired.problems["ANALYTICS_KEY"]
    assert any("UNLISTED" in note for note in desired.notes)


def test_secrets_of_other_environments_need_no_value(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    desired = desired_state(
        manifest,
        env_file=None,
        environments=["staging"],
        environ={"DISCORD_WEBHOOK": "a", "ANALYTICS_KEY": "b"},
    )
    assert desired.problems == {}
    assert "STRIPE_KEY" not in desired.values


def test_a_bad_value_in_the_env_file_fails_only_its_secret(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, ISSUE_EXAMPLE))
    env = tmp_path / ".env"
    env.write_text(
        f"DISCORD_WEBHOOK={'z' * 1025}\nSTRIPE_KEY=\nANALYTICS_KEY=fine\n", encoding="utf-8"
    )
    desired = desired_state(
        manifest, env_file=str(env), environments=["production"], environ={"STRIPE_KEY": "from-env"}
    )
    assert desired.values["ANALYTICS_KEY"].reveal() == "fine"
    assert set(desired.problems) == {"DISCORD_WEBHOOK", "STRIPE_KEY"}
    assert "DISCORD_WEBHOOK" in desired.problems["DISCORD_WEBHOOK"]
    assert "over Roblox's limit" in desired.problems["DISCORD_WEBHOOK"]
    assert "z" * 20 not in desired.problems["DISCORD_WEBHOOK"]
    # The file comes first: an empty entry there is not replaced by the environment.
    assert "empty" in desired.problems["STRIPE_KEY"]


def test_a_bad_value_without_a_manifest_is_a_row_of_its_own(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=ok\nB=\n", encoding="utf-8")
    desired = desired_state(None, env_file=str(env), universes=["5"], environ={})
    assert [s.id for s in desired.secrets[5]] == ["A", "B"]
    assert set(desired.values) == {"A"} and set(desired.problems) == {"B"}
