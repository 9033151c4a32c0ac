"""The operations layer's target rule and client pool, once; then a thin test per front end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.operations.clients import ClientPool, NoCredentialError
from rbxsecrets_magic.operations.targets import TargetError, resolve_targets
from rbxsecrets_magic.secrets_as_code.manifest import Manifest, Target, load_manifest
from tests.rbxsecrets_magic.support import MagicShell
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, rbx

MANIFEST_FILE = "rbxsecrets.toml"


def _manifest() -> Manifest:
    return load_manifest(MANIFEST_FILE)


def _refusal(given: list[str], **kwargs: Any) -> TargetError:
    with pytest.raises(TargetError) as caught:
        resolve_targets(given, manifest=_manifest, **kwargs)
    return caught.value


def test_ids_names_and_comma_lists_resolve_in_order_each_once(cloud: Any) -> None:
    found = resolve_targets(["staging, 99", f"{STAGING},production"], manifest=_manifest)
    assert found == [Target(STAGING, "staging"), Target(99), Target(PRODUCTION, "production")]


def test_the_default_is_used_only_when_nothing_is_given(cloud: Any) -> None:
    assert resolve_targets([], manifest=_manifest, default=str(PRODUCTION)) == [
        Target(PRODUCTION, "production")
    ]
    assert resolve_targets(["5"], manifest=_manifest, default=PRODUCTION) == [Target(5)]
    assert _refusal([], default="  ").problem == "none"
    refused = _refusal([], default="0")
    assert (refused.problem, refused.source) == ("not_an_id", "default")


def test_ids_alone_never_read_the_manifest_without_labels(tmp_path: Path) -> None:
    def broken() -> Manifest:
        raise AssertionError("the manifest was read")

    assert resolve_targets(["5,6"], manifest=broken, labels=False) == [Target(5), Target(6)]
    assert resolve_targets([], manifest=broken, default=7, labels=False) == [Target(7)]


def test_refusals_carry_facts_and_never_the_text_given(cloud: Any) -> None:
    assert _refusal([" , "]).problem == "empty"
    assert _refusal(["0"]).problem == "not_an_id"
    unknown = _refusal(["hunter2-not-a-name"])
    assert unknown.problem == "unknown_name"
    assert str(unknown.manifest).endswith(MANIFEST_FILE)
    assert unknown.known == ("staging", "production")
    assert "hunter2" not in str(unknown)
    assert _refusal(["staging,production"], one=True).problem == "several"
    with pytest.raises(TargetError) as caught:  # a name, and no manifest at all
        resolve_targets(["staging"], manifest=lambda: None)
    assert (caught.value.problem, caught.value.manifest) == ("unknown_name", None)


def test_the_pool_shares_one_pacer_per_credential(cloud: Any) -> None:
    with ClientPool() as pool:
        first = pool.client(STAGING, base_url=cloud.url)
        assert pool.client(STAGING, base_url=cloud.url) is first
        second = pool.client(PRODUCTION, base_url=cloud.url)
        other = pool.client(PRODUCTION, api_key="k" * 40, base_url=cloud.url)
        assert first._sender.pacer is second._sender.pacer is pool.pacer()
        assert other._sender.pacer is pool.pacer("k" * 40) is not pool.pacer()
        # A new credential for a universe replaces (and closes) its old client.
        assert pool.client(PRODUCTION, api_key="k" * 40, base_url=cloud.url) is other
        assert pool.client(PRODUCTION, base_url=cloud.url) is not second
        assert first.list() == []


def test_the_pool_without_any_credential_says_so(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RBX_API_KEY")
    with ClientPool() as pool, pytest.raises(NoCredentialError):
        pool.client(STAGING)


# ------------------------------------------------------------------------- front ends


def test_the_cli_words_each_refusal_with_its_options(cloud: Any) -> None:
    empty = rbx("list", "--universe", ",")
    assert empty.code == 2 and "--universe is empty" in empty.err
    unknown = rbx("list", "--universe", "hunter2-not-a-name")
    assert unknown.code == 2 and "rbxsecrets.toml: staging, production" in (unknown.err)
    assert "hunter2" not in unknown.err and unknown.err.count("\n") == 1
    assert "no universe to act on: give --universe ID" in rbx("list").err


def test_the_magics_word_each_refusal_with_their_options(shell: MagicShell, cloud: Any) -> None:
    assert "--universe is empty" in shell.usage_error("%rbx_secret_list --universe ,")
    message = shell.usage_error("%rbx_secret_list --universe hunter2-not-a-name")
    assert "rbxsecrets.toml: staging, production" in message
    assert "hunter2" not in message
    assert "%config RbxSecretsMagics.universe_id" in shell.usage_error("%rbx_secret_list")


def test_the_magics_pace_each_login_key_on_its_own(shell: MagicShell, cloud: Any) -> None:
    magics = shell.magics
    shell.ok(f"%config RbxSecretsMagics.base_url = {cloud.url!r}")
    env = magics._client("rbx_secret_list", STAGING)
    assert magics._client("rbx_secret_list", PRODUCTION)._sender.pacer is env._sender.pacer
    from rbxsecrets_magic.values import SecretValue

    magics._keys[PRODUCTION] = SecretValue("k" * 40)
    keyed = magics._client("rbx_secret_list", PRODUCTION)
    assert keyed._sender.pacer is not env._sender.pacer


# ------------------------------------------------------------------------- value sources


def test_the_magics_name_their_value_options(cloud_shell: MagicShell, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    message = cloud_shell.usage_error(f"%rbx_secret_set X --from-file {missing}")
    assert "The file given to --from-file does not exist" in message
    message = cloud_shell.usage_error(f"%rbx_secret_set --env-file {missing}")
    assert "The file given to --env-file does not exist" in message
    message = cloud_shell.usage_error("%rbx_secret_set X --from-env RBX_NOT_SET_ANYWHERE")
    assert "given to --from-env is not set in this process" in message
    assert "not with %env NAME=value" in message


def test_the_cli_names_its_value_options(cloud: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    result = rbx("set", "X", "--from-file", str(missing), "--universe", "staging")
    assert result.code == 2
    assert "the file given to --from-file does not exist" in result.err
    result = rbx("plan", "--env-file", str(missing))
    assert result.code == 2 and "the file given to --env-file does not exist" in result.err
    assert "%env" not in result.err


# ------------------------------------------------------------------------- listing


def test_a_listing_marks_secrets_sealed_with_an_old_key(cloud: Any) -> None:
    from rbxsecrets_magic.operations.listing import list_secrets

    cloud.fake.put_secret(STAGING, "OLD", "x")
    cloud.fake.rotate_key(STAGING)
    cloud.fake.put_secret(STAGING, "NEW", "x")
    with ClientPool() as pool:
        targets = [Target(STAGING, "staging"), Target(PRODUCTION, "production")]
        staging, production = list_secrets(targets, pool.client)
    assert staging.target == targets[0] and production.secrets == ()
    assert {info.id: staging.stale(info) for info in staging.secrets} == {"OLD": True, "NEW": False}
    # Both front ends show the same rule.
    assert "stale" in next(
        line
        for line in rbx("list", "--universe", "staging").out.splitlines()
        if line.lstrip().startswith("OLD")
    )
