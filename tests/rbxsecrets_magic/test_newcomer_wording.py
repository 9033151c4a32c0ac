"""Messages a newcomer met in a walk through the README, each saying what to do.

A mistyped CLI option names the option meant (never the word typed); a URL without a
scheme says so (it has a host, just no ``https://``); an unset ``--from-env`` variable does
not suggest ``%env NAME=value``, which would keep the value in the history; an environment
name given without a manifest says a manifest is what it needs.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from rbxsecrets_magic.cli.app import Console, main
from rbxsecrets_magic.errors import InvalidInputError, ValueSourceError
from rbxsecrets_magic.opencloud.domains import url_host
from rbxsecrets_magic.values import read_value
from tests.rbxsecrets_magic.sync_helpers import STAGING, rbx


@pytest.fixture(autouse=True)
def _loopback_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RBX_API_KEY", "k")
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("RBX_UNIVERSE_ID", raising=False)


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    # A credential and a loopback URL nobody serves: every case here fails before a request.
    environ = {"RBX_API_KEY": "k", "RBX_OPEN_CLOUD_URL": "http://127.0.0.1:9"}
    code = main(list(argv), Console(stdout=out, stderr=err, stdin=io.StringIO(), environ=environ))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (("plan", "--env-fle", ".env"), "--env-file"),
        (("apply", "--bleed-of", "5"), "--bleed-off"),
        (("set", "A", "--from-envv", "X"), "--from-env"),
    ],
)
def test_a_mistyped_cli_option_names_the_option_meant(argv: tuple[str, ...], meant: str) -> None:
    code, text = run(*argv)
    assert code == 2
    assert text.count("\n") == 1
    assert f"did you mean {meant}?" in text
    assert argv[-2] not in text.replace(meant, "")


def test_a_word_far_from_any_option_gets_no_guess() -> None:
    code, text = run("list", "--Tok3n-S3CRET-9xq")
    assert code == 2
    assert "did you mean" not in text
    assert "Tok3n" not in text


def test_a_url_without_a_scheme_says_to_add_one() -> None:
    with pytest.raises(InvalidInputError) as info:
        url_host("api.example.com/v1")
    assert "does not start with https:// or http://" in str(info.value)
    assert "api.example.com/v1" not in str(info.value)


def test_an_unset_from_env_variable_does_not_suggest_env_magic() -> None:
    with pytest.raises(ValueSourceError) as info:
        read_value(from_env="API_TOKEN", environ={})
    assert "export it before starting IPython/Jupyter" in str(info.value)
    assert "not with %env NAME=value" in str(info.value)


def test_cli_from_env_unset_says_what_to_do(cloud: Any) -> None:
    result = rbx("set", "A", "--from-env", "NOT_SET_ANYWHERE", "--universe", "staging")
    assert result.code == 2
    assert "export it first, or use --from-file PATH or --stdin" in result.err
    assert cloud.fake.secret_ids(STAGING) == []


def test_an_environment_name_without_a_manifest_says_a_manifest_is_needed(
    tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = run("list", "--universe", "staging")
    assert code == 2
    assert "environment names need a manifest: rbxsecrets.toml here, or --manifest FILE" in text
    assert "no manifest: none" not in text
