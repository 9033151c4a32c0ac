"""%rbx_secret_list (the table object) and tab completion through ip.Completer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell


# --------------------------------------------------------------------------- listing


def test_list_returns_a_table_that_iterates(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    u = s.cloud.universe_id
    s.seed("api_token")
    s.seed("stripe_key", domain="*.stripe.com")
    s.ok("secrets = %rbx_secret_list")
    secrets = s.ip.user_ns["secrets"]
    assert [x.id for x in secrets] == ["api_token", "stripe_key"] == secrets.ids
    assert len(secrets) == 2 and secrets[1].domain == "*.stripe.com"
    assert secrets.universe_id == u

    formatted, _ = s.ip.display_formatter.format(secrets)
    text, html = formatted["text/plain"], formatted["text/html"]
    lines = text.splitlines()
    assert lines[0] == f"2 secrets in universe {u} (times in UTC):"
    assert lines[1].split() == ["id", "domain", "key_id", "stale", "created", "updated"]
    # Aligned: every column starts at the same offset on every row.
    assert lines[3].index("(private)") == lines[4].index("*.stripe.com") == lines[1].index("domain")
    assert "<table" in html and "<th" in html and "*.stripe.com" in html
    for name in ("api_token", "stripe_key"):
        value = f"value-of-{name}-secret"
        assert value not in text and value not in html and value not in repr(list(secrets))


def test_list_shows_in_out_and_never_values(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.seed("a", "b")
    s.ok("%rbx_secret_list")
    assert "2 secrets in universe" in s.last_output
    s.assert_nowhere("value-of-a-secret", "value-of-b-secret")


def test_empty_list(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.ok("x = %rbx_secret_list")
    x = s.ip.user_ns["x"]
    assert list(x) == [] and repr(x) == f"No secrets in universe {s.cloud.universe_id}."
    assert "No secrets" in x._repr_html_()


def test_html_escapes(cloud_shell: MagicShell) -> None:
    from rbxsecrets_magic.render.tables import SecretList

    class Info:
        id = "a<b"
        domain = "<script>"
        key_id = "1"
        create_time = update_time = None

    html = SecretList(1, [Info()])._repr_html_()  # type: ignore[list-item]
    assert "<script>" not in html and "&lt;script&gt;" in html


# ------------------------------------------------------------------------ completion


def _complete(s: MagicShell, line: str) -> list[str]:
    """What a frontend would offer at the end of ``line`` (the API ipykernel uses).

    Jedi stays on, as in the terminal and in ipykernel: it reads a magic line as Python and
    would offer builtins after ``--`` unless our matcher suppresses it.
    """
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        completions = s.ip.Completer.completions(line, len(line))
        return [c.text for c in completions]


def test_completes_options(shell: MagicShell) -> None:
    assert _complete(shell, "%rbx_secret_set --fr") == [
        "--from",
        "--from-env",
        "--from-file",
        "--from-var",
    ]
    assert _complete(shell, "%rbx_secret_delete --m") == ["--missing-ok"]
    assert _complete(shell, "%rbx_secret_list --u") == ["--universe"]
    assert "--env-file" in _complete(shell, "%rbx_secret_set --")


def test_options_come_without_python_names(shell: MagicShell) -> None:
    assert _complete(shell, "%rbx_secret_list --") == ["--universe"]
    assert _complete(shell, "%rbx_secret_set tok --from-e") == ["--from-env"]
    assert _complete(shell, "rbx_secret_delete --m") == ["--missing-ok"]  # automagic


def test_completes_names_from_the_last_listing(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.seed("api_token", "api_key", "other")
    s.magics.known_ids.clear()  # as in a new session: nothing known until a listing
    assert "api_token" not in _complete(s, "%rbx_secret_delete ap")
    s.ok("%rbx_secret_list")
    assert _complete(s, "%rbx_secret_delete ap") == ["api_key", "api_token"]
    assert _complete(s, "%rbx_secret_set api") == ["api_key", "api_token"]
    assert _complete(s, "%rbx_secret_delete api_key ap") == ["api_token"]
    s.ok("%rbx_secret_delete api_key --yes")  # deletes and sets keep the names current
    assert _complete(s, "%rbx_secret_delete ap") == ["api_token"]
    s.ip.user_ns["_v"] = "some-value-1"
    s.ok("%rbx_secret_set apple --from-var _v")
    assert _complete(s, "%rbx_secret_delete ap") == ["api_token", "apple"]


def test_completes_names_per_universe(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.magics.known_ids.update({111: {"only_in_111"}})
    s.seed("in_default")
    assert _complete(s, "%rbx_secret_delete in_") == ["in_default"]
    assert _complete(s, "%rbx_secret_delete --universe 111 on") == ["only_in_111"]
    assert "111" in _complete(s, "%rbx_secret_list --universe 1")


def test_completes_variables_env_and_paths(
    shell: MagicShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    shell.ip.user_ns.update(my_token="x", my_number=3)
    assert _complete(shell, "%rbx_secret_set a --from-var my_") == ["my_token"]
    monkeypatch.setenv("RBX_TEST_COMPLETION_VAR", "1")
    assert _complete(shell, "%rbx_secret_set a --from-env RBX_TEST_COMP") == [
        "RBX_TEST_COMPLETION_VAR"
    ]
    (tmp_path / "token_file.txt").write_text("x")
    matches = _complete(shell, f"%rbx_secret_set a --from-file {tmp_path}/token_")
    assert any(m.endswith("token_file.txt") for m in matches)


def test_reload_keeps_one_completer(shell: MagicShell) -> None:
    from rbxsecrets_magic.ipython.completion import MagicCompleter

    shell.ok("%reload_ext rbxsecrets_magic")
    ours = [m for m in shell.ip.Completer.custom_matchers if isinstance(m, MagicCompleter)]
    assert len(ours) == 1 and ours[0].magics is shell.magics
    assert _complete(shell, "%rbx_secret_set --fr") == [
        "--from",
        "--from-env",
        "--from-file",
        "--from-var",
    ]
