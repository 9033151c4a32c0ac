"""%rbx_secret_set / _delete / _login / _logout through a real InteractiveShell, against the fake.

Every test that handles a value checks the fake decrypted exactly that value, and that the value
reached no output, ``In``/``Out``, ``_i`` variable or history database entry.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

import pytest
from IPython.core.error import StdinNotImplementedError, UsageError

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell

VALUE = "s3cr3t-Válue with spaces ✓"
OTHER = "another-s3cr3t-0987"


# --------------------------------------------------------------------------- happy paths


def test_set_prompts_masked_and_creates(cloud_shell: MagicShell, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    s = cloud_shell
    u = s.cloud.universe_id
    s.prompt.answers = [VALUE]
    s.ok("%rbx_secret_set api_token")
    assert s.prompt.prompts == [f"Value for api_token (universe {u}): "]
    assert s.cloud.plaintext("api_token") == VALUE
    assert f"Created secret 'api_token' in universe {u}: {len(VALUE)} characters" in s.output
    assert s.ip.user_ns["Out"] == {}  # the magic returns nothing
    s.assert_nowhere(VALUE, s.cloud.api_key)
    assert VALUE not in caplog.text and s.cloud.api_key not in caplog.text


def test_set_again_updates_and_says_so(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [VALUE, OTHER]
    s.ok("%rbx_secret_set api_token")
    s.ok("%rbx_secret_set api_token")
    assert s.cloud.plaintext("api_token") == OTHER
    assert (
        f"Updated secret 'api_token' in universe {s.cloud.universe_id}: {len(OTHER)} "
        "characters" in s.last_output
    )
    assert "restart" in s.last_output
    s.assert_nowhere(VALUE, OTHER)


def test_a_listed_name_is_updated_without_a_create_first(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [VALUE, OTHER]
    s.ok("%rbx_secret_set api_token")
    s.ok("%rbx_secret_list")
    s.cloud.fake.clear_journal()
    s.ok("%rbx_secret_set api_token")
    assert s.cloud.plaintext("api_token") == OTHER
    assert "Updated secret 'api_token'" in s.last_output
    # The up-front key check, then the update: no create spent on a 409.
    assert [(e.operation, e.status) for e in s.cloud.fake.journal] == [
        ("get_public_key", 200),
        ("update_secret", 200),
    ]


def _domain(s: MagicShell, name: str) -> Any:
    s.ok("_secrets = %rbx_secret_list")
    return {i.id: i.domain for i in s.ip.user_ns["_secrets"]}[name]


def test_domain_is_set_kept_and_cleared(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [VALUE, OTHER, "third-value"]
    s.ok("%rbx_secret_set stripe_key --domain '*.Stripe.com'")
    assert "domain *.stripe.com" in s.last_output
    assert _domain(s, "stripe_key") == "*.stripe.com"
    s.ok("%rbx_secret_set stripe_key")  # no --domain: keep it
    assert _domain(s, "stripe_key") == "*.stripe.com"
    assert s.cloud.plaintext("stripe_key") == OTHER
    s.ok("%rbx_secret_set stripe_key --domain ''")
    assert _domain(s, "stripe_key") is None
    assert "private" in s.output.splitlines()[-3] or "private" in s.output


def test_confirm_asks_twice(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [VALUE, VALUE]
    s.ok("%rbx_secret_set api_token --confirm")
    assert len(s.prompt.prompts) == 2 and "Repeat" in s.prompt.prompts[1]
    assert s.cloud.plaintext("api_token") == VALUE


def test_confirm_mismatch_changes_nothing(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [VALUE, OTHER]
    message = s.usage_error("%rbx_secret_set api_token --confirm")
    assert "differ" in message and "nothing was changed" in message
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []
    s.assert_nowhere(VALUE, OTHER)


def test_confirm_trait_asks_twice_without_the_flag(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.ok("%config RbxSecretsMagics.confirm = True")
    s.prompt.answers = [VALUE, VALUE]
    s.ok("%rbx_secret_set api_token")
    assert len(s.prompt.prompts) == 2


def test_from_env(cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch) -> None:
    s = cloud_shell
    monkeypatch.setenv("MY_TOKEN", VALUE)
    s.ok("%rbx_secret_set api_token --from-env MY_TOKEN")
    assert s.prompt.prompts == []
    assert s.cloud.plaintext("api_token") == VALUE
    s.assert_nowhere(VALUE)


def test_from_file_drops_one_final_newline(cloud_shell: MagicShell, tmp_path: Any) -> None:
    s = cloud_shell
    path = tmp_path / "dir with space" / "token.txt"
    path.parent.mkdir()
    path.write_text(VALUE + "\n", encoding="utf-8")
    s.ok(f"%rbx_secret_set api_token --from-file '{path}'")
    assert s.cloud.plaintext("api_token") == VALUE
    s.assert_nowhere(VALUE)


def test_from_var(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.ip.user_ns["token"] = VALUE  # as if computed in an earlier cell
    s.ok("%rbx_secret_set api_token --from-var token")
    assert s.cloud.plaintext("api_token") == VALUE
    s.assert_nowhere(VALUE)


def test_universe_option_overrides_configuration(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    fake = s.cloud.fake
    other = fake.add_universe().universe_id
    monkeypatch.setenv("SECOND_KEY", fake.add_api_key(universe_ids=[other]).key)
    s.ok(f"%rbx_secret_login --universe {other} --from-env SECOND_KEY")
    s.prompt.answers = [VALUE]
    s.ok(f"%rbx_secret_set api_token --universe {other}")
    assert fake.plaintext(other, "api_token") == VALUE
    assert fake.secret_ids(s.cloud.universe_id) == []
    assert f"universe {other}" in s.last_output
    assert s.prompt.prompts == [f"Value for api_token (universe {other}): "]
    s.ok("%rbx_secret_list")  # the configured universe still uses RBX_API_KEY


def test_universe_from_environment(
    shell: MagicShell, fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RBX_UNIVERSE_ID", str(fake_open_cloud.universe_id))
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", fake_open_cloud.url)
    monkeypatch.setenv("RBX_API_KEY", fake_open_cloud.api_key)
    shell.prompt.answers = [VALUE]
    shell.ok("%rbx_secret_set api_token")
    assert fake_open_cloud.plaintext("api_token") == VALUE


def test_config_lists_traits_with_help(shell: MagicShell) -> None:
    shell.ok("%config RbxSecretsMagics")
    for trait in (
        "universe_id",
        "base_url",
        "timeout",
        "max_retries",
        "confirm",
        "progress",
        "concurrency",
    ):
        assert f"RbxSecretsMagics.{trait}" in shell.last_output
    assert "RBX_UNIVERSE_ID" in shell.last_output
    shell.ok("%config RbxSecretsMagics.universe_id = 42")
    assert shell.magics.universe_id == 42
    shell.run("%config RbxSecretsMagics.universe_id = -1")  # %config logs the TraitError
    assert shell.magics.universe_id == 42


def test_concurrency_beyond_what_the_client_allows_is_refused_at_config(
    shell: MagicShell, caplog: pytest.LogCaptureFixture
) -> None:
    from rbxsecrets_magic.settings import MAX_CONCURRENCY

    shell.ok(f"%config RbxSecretsMagics.concurrency = {MAX_CONCURRENCY}")
    shell.run(f"%config RbxSecretsMagics.concurrency = {MAX_CONCURRENCY + 1}")
    assert shell.magics.concurrency == MAX_CONCURRENCY
    assert f"concurrency must be 1 to {MAX_CONCURRENCY}" in caplog.text  # how %config reports


def test_traits_come_from_the_config_file(shell: MagicShell) -> None:
    # What `c.RbxSecretsMagics.universe_id = 77` in ipython_config.py amounts to.
    shell.ip.config.RbxSecretsMagics.universe_id = 77
    shell.ip.config.RbxSecretsMagics.timeout = 3.5
    shell.ok("%reload_ext rbxsecrets_magic")
    assert (shell.magics.universe_id, shell.magics.timeout) == (77, 3.5)


def test_help_has_examples(shell: MagicShell) -> None:
    for magic in (
        "rbx_secret_set",
        "rbx_secret_delete",
        "rbx_secret_list",
        "rbx_secret_login",
        "rbx_secret_logout",
    ):
        doc = getattr(shell.magics, magic).__doc__
        assert "Examples" in doc and f"In [1]: %{magic}" in doc, magic
        assert f"%{magic}" in doc.splitlines()[2]  # argparse usage line
    assert "--from-env VAR" in shell.magics.rbx_secret_set.__doc__


# ------------------------------------------------------------------------ delete


def test_delete_one_and_many(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    u = s.cloud.universe_id
    s.seed("a", "b", "c")
    s.ok("%rbx_secret_delete a --yes")
    assert f"Deleted secret 'a' in universe {u}." in s.last_output
    s.ok("%rbx_secret_delete b c --yes")
    assert f"Deleted 2 secrets in universe {u}: 'b', 'c'." in s.last_output
    assert s.cloud.fake.secret_ids(u) == []


def test_delete_missing_is_refused_and_changes_nothing(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    u = s.cloud.universe_id
    s.seed("a")
    message = s.usage_error("%rbx_secret_delete nope")
    assert "No secret named 'nope'" in message and "--missing-ok" in message
    message = s.usage_error("%rbx_secret_delete a nope")
    assert "nothing was deleted" in message and f"universe {u}" in message
    assert s.cloud.fake.secret_ids(u) == ["a"]


def test_delete_missing_ok(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.seed("a")
    s.ok("%rbx_secret_delete nope a --missing-ok --yes")
    assert "Deleted secret 'a'" in s.last_output and "skipped: 'nope'" in s.last_output
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []


# ------------------------------------------------------------------------- login


def test_login_keeps_key_for_session_only(
    shell: MagicShell, fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = shell
    for var in ("RBX_API_KEY", "RBX_UNIVERSE_ID"):  # the plugin exports the fake's
        monkeypatch.delenv(var)
    key = fake_open_cloud.api_key
    s.ok(f"%config RbxSecretsMagics.base_url = {fake_open_cloud.url!r}")
    message = s.usage_error("%rbx_secret_set api_token")
    assert "No universe" in message
    s.ok(f"%config RbxSecretsMagics.universe_id = {fake_open_cloud.universe_id}")
    message = s.usage_error("%rbx_secret_set api_token")
    assert "%rbx_secret_login" in message and "RBX_API_KEY" in message
    assert s.prompt.prompts == []  # refused before asking for a value
    s.prompt.answers = [key, VALUE]
    s.ok("%rbx_secret_login")
    assert s.prompt.prompts == ["Open Cloud API key: "]
    assert f"accepted for universe {fake_open_cloud.universe_id}" in s.last_output
    s.ok("%rbx_secret_set api_token")
    assert fake_open_cloud.plaintext("api_token") == VALUE
    s.ok("%config RbxSecretsMagics")
    s.assert_nowhere(key, VALUE)
    s.ok("%rbx_secret_logout")
    assert "Forgot" in s.last_output
    assert "%rbx_secret_login" in s.usage_error("%rbx_secret_list")


def test_login_with_a_wrong_key_keeps_nothing(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    monkeypatch.delenv("RBX_API_KEY")
    s.prompt.answers = ["not-a-real-key-123"]
    message = s.usage_error("%rbx_secret_login")
    assert "HTTP 401" in message
    assert "not-a-real-key-123" not in s.output
    assert "%rbx_secret_login" in s.usage_error("%rbx_secret_list")


def test_login_per_universe_and_logout(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    u = s.cloud.universe_id
    monkeypatch.delenv("RBX_API_KEY")
    s.prompt.answers = [s.cloud.api_key]
    s.ok(f"%rbx_secret_login --universe {u}")
    assert f"used for universe {u}" in s.last_output
    s.ok("%rbx_secret_list")
    s.ok(f"%rbx_secret_logout --universe {u}")
    assert f"Forgot the session API key for universe {u}" in s.last_output
    s.ok(f"%rbx_secret_logout --universe {u}")
    assert "There was no" in s.last_output
    s.usage_error("%rbx_secret_list")


def test_key_typed_on_the_login_line_is_refused_and_redacted(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    key = s.cloud.api_key
    message = s.usage_error(f"%rbx_secret_login {key}")
    assert "not repeated" in message
    assert s.prompt.prompts == []
    s.assert_nowhere(key)


def test_login_without_universe_is_not_checked(shell: MagicShell) -> None:
    shell.prompt.answers = ["some-key-value-1234"]
    shell.ok("%rbx_secret_login")
    assert "not checked" in shell.last_output
    shell.assert_nowhere("some-key-value-1234")


# ------------------------------------------------------------- mistakes: one line, no change


def test_value_typed_on_the_line_is_not_repeated_and_is_redacted(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    message = s.usage_error("%rbx_secret_set api_token hunter2-on-the-line")
    assert "not repeated" in message and "removed from this session's history" in message
    assert s.prompt.prompts == []
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []
    s.assert_nowhere("hunter2-on-the-line")
    assert "api_token <redacted>" in s.ip.user_ns["In"][-1]


def test_a_mistyped_option_is_called_one(shell: MagicShell) -> None:
    message = shell.usage_error("%rbx_secret_delete a --missing_ok")
    assert "Unknown option" in message and "--missing-ok" in message
    assert "values are never typed" not in message


def test_messages_are_sentences_in_one_form(cloud_shell: MagicShell) -> None:
    # The magics' own messages and the client's (here a bad domain) read alike:
    # "%magic: Capitalised sentence ... ." after the prefix.
    s = cloud_shell
    s.ip.user_ns["v"] = "a-value-1"
    for cell in (
        "%rbx_secret_set 1bad",
        "%rbx_secret_set --dry-run",
        "%rbx_secret_set a --from-var v --domain http://x.com",
        "%rbx_secret_delete missing_one",
        "%rbx_secret_set a --from-env NOT_SET_123",
        "%rbx_secret_set a b",
    ):
        message = s.usage_error(cell)
        text = message.split(": ", 1)[1]
        assert (text[0].isupper() or text.startswith("--")) and text[-1] in ".?", message
        assert ") (" not in message, message


def test_value_with_quotes_and_dashes_on_the_line(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.usage_error("%rbx_secret_set api_token --domain '*' 'two words secret' -xQz9")
    s.assert_nowhere("two words secret", "-xQz9")


def test_value_given_as_the_name_is_not_repeated(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    message = s.usage_error("%rbx_secret_set 'p@ss w0rd!'")
    assert "not a valid secret id" in message
    s.assert_nowhere("p@ss w0rd!")
    message = s.usage_error("%rbx_secret_delete ok_name 9bad")
    assert "1 of the names is not a valid secret id" in message
    s.assert_nowhere("9bad")


def test_argparse_messages_never_echo_what_was_typed(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    assert "--universe must be a universe id" in s.usage_error(
        "%rbx_secret_set api_token --universe Hunter2Secret"
    )
    assert "expected one argument" in s.usage_error("%rbx_secret_set api_token --domain")
    assert "quote" in s.usage_error('%rbx_secret_set api_token "Hunter2Secret')
    assert "required" in s.usage_error("%rbx_secret_delete")
    s.usage_error("%rbx_secret_list Hunter2Secret")
    assert "Hunter2Secret" not in s.output


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%rbx_secret_set", "Give the secret's name"),
        ("%rbx_secret_set a --from-env X --from-var Y", "only one of"),
        ("%rbx_secret_set a --from-env X --confirm", "--confirm applies only"),
        ("%rbx_secret_set a --dry-run", "--dry-run works only with --env-file"),
        ("%rbx_secret_set a --domain 'https://x.com'", "Invalid domain"),
        ("%rbx_secret_set a --from-env RBX_TEST_UNSET_VAR", "--from-env is not set"),
        ("%rbx_secret_set a --from-file /nonexistent/token", "--from-file does not exist"),
        ("%rbx_secret_set a --from-var not_defined_anywhere", "--from-var is not defined"),
        ("%rbx_secret_set a --from-var _n", "holds an int, not a str"),
        ("%rbx_secret_set a --from-var _e", "empty string"),
    ],
)
def test_user_mistakes(cloud_shell: MagicShell, line: str, expected: str) -> None:
    s = cloud_shell
    s.ip.user_ns.update(_n=12, _e="")
    message = s.usage_error(line)
    assert expected in message and message.startswith("%rbx_secret_")
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []


@pytest.mark.parametrize("option", ["--from-var", "--from-env", "--from-file"])
def test_value_given_to_a_source_option_is_removed_from_history(
    cloud_shell: MagicShell, option: str
) -> None:
    # "--from-var s3cret" read as "from this value": the lookup fails, and the word may be
    # the value itself, so it must leave the history like a stray word on the line does.
    s = cloud_shell
    typed = "Hunter2-typed-as-the-source"
    message = s.usage_error(f"%rbx_secret_set api_token {option} {typed}")
    assert "removed from this session's history" in message
    s.assert_nowhere(typed)
    assert f"{option} <redacted>" in s.ip.user_ns["In"][-1]
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []


def test_bom_of_a_windows_file_is_not_part_of_the_value(
    cloud_shell: MagicShell, tmp_path: Any
) -> None:
    s = cloud_shell
    (tmp_path / "token").write_bytes(b"\xef\xbb\xbf" + VALUE.encode() + b"\r\n")
    s.ok(f"%rbx_secret_set api_token --from-file {tmp_path / 'token'}")
    assert s.cloud.plaintext("api_token") == VALUE


def test_empty_and_too_long_values(cloud_shell: MagicShell, tmp_path: Any) -> None:
    s = cloud_shell
    s.prompt.answers = [""]
    assert "empty" in s.usage_error("%rbx_secret_set a")
    long_value = "L0ngV" * 205
    s.prompt.answers = [long_value]
    assert "1,024" in s.usage_error("%rbx_secret_set a")
    (tmp_path / "empty").write_text("\n")
    assert "empty" in s.usage_error(f"%rbx_secret_set a --from-file {tmp_path / 'empty'}")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    assert "UTF-8" in s.usage_error(f"%rbx_secret_set a --from-file {tmp_path / 'binary'}")
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []
    s.assert_nowhere(long_value)


def test_no_universe_says_how_to_set_one(shell: MagicShell) -> None:
    for line in ("%rbx_secret_set a", "%rbx_secret_delete a", "%rbx_secret_list"):
        message = shell.usage_error(line)
        assert "%config RbxSecretsMagics.universe_id" in message
        assert "RBX_UNIVERSE_ID" in message and "--universe" in message
    assert shell.prompt.prompts == []


def test_bad_universe_in_environment(shell: MagicShell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RBX_UNIVERSE_ID", "abc")
    assert "RBX_UNIVERSE_ID must be a universe id" in shell.usage_error("%rbx_secret_list")


def test_login_messages_name_only_its_own_options(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    monkeypatch.delenv("RBX_API_KEY")
    s.prompt.answers = [StdinNotImplementedError("no stdin")]
    message = s.usage_error("%rbx_secret_login")
    assert "--from-env" in message and "--from-file" in message
    assert "--from-var" not in message and "key" in message
    s.prompt.answers = [""]
    assert "The key is empty" in s.usage_error("%rbx_secret_login")
    assert "--from-var" not in s.usage_error("%rbx_secret_login stray-word")
    s.prompt.answers = ["not-a-real-key-123"]
    message = s.usage_error("%rbx_secret_login")
    # The key just typed was refused: point at it, not at RBX_API_KEY or at login itself.
    assert "RBX_API_KEY" not in message and "run %rbx_secret_login again" in message


def test_headless_kernel_names_the_alternatives(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [StdinNotImplementedError("no stdin")]
    message = s.usage_error("%rbx_secret_set api_token")
    for option in ("--from-env", "--from-file", "--from-var"):
        assert option in message
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []


def test_ctrl_c_at_the_prompt_cancels(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.prompt.answers = [KeyboardInterrupt]
    assert "Cancelled" in s.usage_error("%rbx_secret_set api_token")
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []


@pytest.mark.parametrize("cell", ["%rbx_secret_set api_token", "%rbx_secret_set --env-file {env}"])
def test_ctrl_c_during_a_request_leaks_no_value_in_verbose_mode(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, cell: str
) -> None:
    # %xmode Verbose prints every frame's locals; the client's frames hold the plaintext.
    from rbxsecrets_magic.opencloud.sending import Call, Sender

    send = Sender._send_once

    def interrupted_write(self: Any, call: Call) -> Any:
        if call.method != "GET":
            raise KeyboardInterrupt
        return send(self, call)

    monkeypatch.setattr(Sender, "_send_once", interrupted_write)
    s = cloud_shell
    s.ok("%xmode Verbose")
    (tmp_path / "a.env").write_text(f"api_token={VALUE}\n")
    s.prompt.answers = [VALUE]
    message = s.usage_error(cell.format(env=tmp_path / "a.env"))
    assert "Interrupted" in message and "%rbx_secret_list" in message
    s.assert_nowhere(VALUE)


# ------------------------------------------------------------------ API failures


def test_401_is_reported_before_the_prompt(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    monkeypatch.setenv("RBX_API_KEY", "wrong-key-0000")
    message = s.usage_error("%rbx_secret_set api_token")
    assert "HTTP 401" in message and "%rbx_secret_login" in message
    assert s.prompt.prompts == []
    s.assert_nowhere("wrong-key-0000")


def test_403_without_the_universe(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    other = s.cloud.fake.add_universe().universe_id
    message = s.usage_error(f"%rbx_secret_set api_token --universe {other}")
    assert "HTTP 403" in message and f"universe {other}" in message
    assert s.prompt.prompts == []


def test_403_without_write_permission(
    shell: MagicShell, fake_open_cloud_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud = fake_open_cloud_factory(write=False)
    monkeypatch.setenv("RBX_API_KEY", cloud.api_key)
    shell.ok(f"%config RbxSecretsMagics.base_url = {cloud.url!r}")
    shell.prompt.answers = [VALUE]
    message = shell.usage_error(f"%rbx_secret_set api_token --universe {cloud.universe_id}")
    assert "HTTP 403" in message and "write permission" in message
    assert cloud.fake.secret_ids(cloud.universe_id) == []
    shell.assert_nowhere(VALUE)
    assert "HTTP 403" in shell.usage_error(
        f"%rbx_secret_delete a --missing-ok --universe {cloud.universe_id} --yes"
    )


def test_409_that_upsert_cannot_resolve(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    for _ in range(2):
        s.cloud.fake.inject_fault("create_secret", status=409)
        s.cloud.fake.inject_fault("update_secret", status=404)
    s.prompt.answers = [VALUE]
    message = s.usage_error("%rbx_secret_set api_token")
    assert "HTTP 409" in message
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []
    s.assert_nowhere(VALUE)


def test_429_after_retries(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.cloud.fake.inject_fault("create_secret", status=429, times=5, retry_after=0)
    s.prompt.answers = [VALUE]
    message = s.usage_error("%rbx_secret_set api_token")
    assert "HTTP 429" in message and "try again" in message
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []


def test_server_error(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.cloud.fake.inject_fault("list_secrets", status=503, times=5)
    assert "HTTP 503" in s.usage_error("%rbx_secret_list")


def test_network_down(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s.ok(f"%config RbxSecretsMagics.base_url = 'http://127.0.0.1:{port}'")
    s.ok("%config RbxSecretsMagics.max_retries = 0")
    message = s.usage_error("%rbx_secret_set api_token")
    assert "refused" in message and "RbxSecretsMagics.base_url" in message
    assert s.prompt.prompts == []


def test_unsafe_base_url_is_refused(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.ok("%config RbxSecretsMagics.base_url = 'http://example.com'")
    assert "http" in s.usage_error("%rbx_secret_list").lower()


def test_unknown_exceptions_keep_their_traceback(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rbxsecrets_magic.opencloud.client import SecretsClient

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(SecretsClient, "list", broken)
    result = cloud_shell.run("%rbx_secret_list")
    assert type(result.error_in_exec) is RuntimeError
    assert "Traceback" in cloud_shell.last_output or "RuntimeError" in cloud_shell.last_output


def test_usage_error_is_exactly_usage_error(cloud_shell: MagicShell) -> None:
    with pytest.raises(UsageError) as info:
        cloud_shell.ip.run_line_magic("rbx_secret_set", "")
    assert type(info.value) is UsageError


def test_a_real_bug_keeps_its_traceback_but_not_the_value_in_verbose_mode(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unexpected error deep in the client, where a frame holds the plaintext.
    from rbxsecrets_magic.opencloud import client

    def broken_seal(value: Any, public_key: str) -> str:
        raise RuntimeError("bug in sealing")

    monkeypatch.setattr(client, "seal", broken_seal)
    s = cloud_shell
    s.ok("%xmode Verbose")
    s.prompt.answers = [VALUE]
    result = s.run("%rbx_secret_set api_token")
    assert isinstance(result.error_in_exec, RuntimeError)
    assert "Traceback" in s.last_output and "bug in sealing" in s.last_output
    assert "broken_seal" in s.last_output  # the frames are all still shown
    s.assert_nowhere(VALUE)
