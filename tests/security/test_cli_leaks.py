"""``rbx-secrets`` never repeats a word of its command line that may be a value.

argparse quotes part of ``--option=TEXT`` and escapes a backslash in an invalid command, so
matching the typed word alone missed both; a URL given to ``--domain`` (a webhook URL holds its
token in the path) was quoted back whole, in the CLI and from a manifest.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.cli.app import Console, main
from rbxsecrets_magic.errors import InvalidInputError
from rbxsecrets_magic.opencloud.validation import validate_domain
from tests.rbxsecrets_magic.sync_helpers import STAGING, rbx

TOKEN = "Tok3n-S3CRET-9xq"


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Console(stdout=out, stderr=err, stdin=io.StringIO()))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ("list", f"--json={TOKEN}"),
        ("set", "A", f"--yes={TOKEN}"),
        ("set", "A", f"--restart={TOKEN}"),
        ("delete", "A", f"--missing-ok={TOKEN}"),
        ("list", "--json", f"--json=={TOKEN}"),
        (f"back\\slash-{TOKEN}",),
        (f"it's\\{TOKEN}",),
    ],
)
def test_usage_errors_never_quote_a_word_in_any_form(argv: tuple[str, ...]) -> None:
    code, text = run(*argv)
    assert code == 2
    assert text.startswith("rbx-secrets: error: ")
    assert TOKEN.lower() not in text.lower()
    assert "S3CRET" not in text


@pytest.mark.parametrize(
    "domain",
    [
        f"https://discord.com/api/webhooks/1/{TOKEN}",
        f"https://user:{TOKEN}@api.example.com",
        f"api.example.com/v1?key={TOKEN}",
        f"api.example.com#{TOKEN}",
        f"api.example.com:{TOKEN}",
        f"{TOKEN} pasted",
    ],
)
def test_cli_domain_refusal_names_the_rule_not_the_text(cloud: Any, domain: str) -> None:
    for argv in (
        ("set", "A", "--from-env", "HOME", "--universe", str(STAGING)),
        ("plan", "--env-file", ".env"),
    ):
        code, text = run(*argv, "--domain", domain)
        assert code == 2, text
        assert "invalid domain given to --domain" in text
        assert "s3cret" not in text.lower()
    assert list(cloud.fake.journal) == []  # refused before any request


@pytest.mark.parametrize(
    "domain",
    [
        f"https://discord.com/api/webhooks/1/{TOKEN}",
        f"https://user:{TOKEN}@api.example.com",
        f"api.example.com/v1?key={TOKEN}",
        f"api.example.com#{TOKEN}",
        f"api.example.com:{TOKEN}",
    ],
)
def test_an_invalid_domain_is_quoted_without_user_path_query_or_fragment(domain: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_domain(domain)
    assert "s3cret" not in str(caught.value).lower()
    assert "Invalid domain '" in str(caught.value)  # the host part is still shown


def test_a_webhook_url_as_a_manifest_domain_stays_out_of_the_ci_log(
    cloud: Any, tmp_path: Path
) -> None:
    (tmp_path / "bad.toml").write_text(
        f'[secrets.HOOK]\ndomain = "https://discord.com/api/webhooks/1/{TOKEN}"\n'
    )
    result = rbx("plan", "--manifest", "bad.toml", "--universe", str(STAGING))
    assert result.code == 2
    assert "[secrets.HOOK]" in result.err and "https://discord.com/..." in result.err
    assert "s3cret" not in (result.out + result.err).lower()
