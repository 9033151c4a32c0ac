"""Rolling out a secret through the magics, against the fake's game servers.

``%rbx_secret_set NAME --restart``, ``%rbx_secret_delete --restart``, ``%rbx_secret_sync
--restart``, ``%rbx_servers_restart`` and ``%rbx_secret_check``: a server started before an
update keeps the old value; after the magic a new server sends the new one, and the old one
drains or is gone as asked. Every refusal is a plain one-line UsageError sent before any
request (the fake's journal proves it).
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import StdinNotImplementedError

from fakeserver import GameServerError
from tests.rbxsecrets_magic.support import MagicShell
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING

URL = "https://api.example.com/v1/charge"
OLD, NEW = "old-value-0f-the-token", "new-value-0f-the-token"


def sent(server: Any, name: str = "PAY") -> str:
    """What the game server would put in the Authorization header for secret ``name``."""
    token = server.get_secret(name).add_prefix("Bearer ")
    return str(server.http_request(URL, {"Authorization": token}).headers["Authorization"])


def operations(cloud: Any) -> list[str]:
    return [entry.operation for entry in cloud.fake.journal]


@pytest.fixture
def rollout(cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch) -> MagicShell:
    """The cloud shell with PAY set to OLD (domain api.example.com) and one server running."""
    monkeypatch.setenv("PAY_OLD", OLD)
    cloud_shell.ok("%rbx_secret_set PAY --from-env PAY_OLD --domain api.example.com")
    cloud = cloud_shell.cloud  # type: ignore[attr-defined]
    cloud_shell.before = cloud.fake.start_server(cloud.universe_id)  # type: ignore[attr-defined]
    assert sent(cloud_shell.before) == f"Bearer {OLD}"  # type: ignore[attr-defined]
    return cloud_shell


def answer_input(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[str]:
    """Make ``input`` (what the magics ask with) answer ``answer`` or raise it."""
    asked: list[str] = []

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        if isinstance(answer, type) and issubclass(answer, BaseException):
            raise answer("no stdin here")
        return str(answer)

    monkeypatch.setattr(builtins, "input", fake_input)
    return asked


def test_full_rollout_set_restart_with_bleed_off(rollout: MagicShell) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    uid = cloud.universe_id
    before = rollout.before  # type: ignore[attr-defined]

    rollout.ok(f"%rbx_secret_check PAY {URL}")
    assert rollout.last_output.strip() == (
        "Yes: a game server can send PAY to api.example.com (domain api.example.com allows "
        "api.example.com)."
    )

    rollout.prompt.answers.append(NEW)  # typed at the masked prompt
    rollout.ok("%rbx_secret_set PAY --restart --legacy --bleed-off 10 --yes")
    lines = rollout.last_output.splitlines()
    # What the restart will do is said before anything is written (the restart rule).
    assert lines[0] == (
        f"Servers of every place in universe {uid} stop taking players now and shut down in "
        "10 minutes."
    )
    assert lines[1].startswith(f"Updated secret 'PAY' in universe {uid}")
    assert lines[2:] == [
        f"Restarted the servers of universe {uid}: new servers load the secrets as they are "
        "now (old ones drain for 10 minutes).",
    ]
    assert operations(cloud)[-1] == "restart_servers"

    # The old server bleeds off with the old value; its replacement sends the new one.
    assert before.state == "draining" and sent(before) == f"Bearer {OLD}"
    (after,) = [s for s in cloud.fake.servers(uid) if s is not before]
    assert after.accepting_players and sent(after) == f"Bearer {NEW}"
    cloud.fake.advance(10 * 60)
    assert not before.running and cloud.fake.servers(uid) == [after]
    assert cloud.plaintext("PAY") == NEW
    rollout.assert_nowhere(NEW)


def test_restart_without_bleed_off_shuts_old_servers_now(
    rollout: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    before = rollout.before  # type: ignore[attr-defined]
    monkeypatch.setenv("PAY_NEW", NEW)
    rollout.ok("%rbx_secret_set PAY --from-env PAY_NEW")
    assert sent(before) == f"Bearer {OLD}"  # a set alone reaches no running server
    rollout.ok("%rbx_servers_restart --legacy --yes")
    assert "shut down now" in rollout.last_output
    assert not before.running
    (after,) = cloud.fake.servers(cloud.universe_id)
    assert sent(after) == f"Bearer {NEW}"


def test_restart_asks_first_and_a_yes_restarts(
    rollout: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = answer_input(monkeypatch, "y")
    rollout.ok("%rbx_servers_restart --legacy --bleed-off 5")
    assert asked == ["Restart them? Players on them are disconnected. [y/N] "]
    assert rollout.before.state == "draining"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("n", "restart not confirmed; nothing was restarted."),
        ("", "restart not confirmed; nothing was restarted."),
        (
            StdinNotImplementedError,
            "nothing can ask for confirmation here (no terminal), so nothing "
            "was restarted; add --yes to restart without asking.",
        ),
    ],
)
def test_a_declined_or_unaskable_restart_restarts_nothing(
    rollout: MagicShell, monkeypatch: pytest.MonkeyPatch, answer: Any, words: str
) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    answer_input(monkeypatch, answer)
    message = rollout.usage_error("%rbx_servers_restart --legacy --bleed-off 5")
    assert message == f"%rbx_servers_restart: {words[0].upper()}{words[1:]}"
    assert "restart_servers" not in operations(cloud)
    assert rollout.before.accepting_players  # type: ignore[attr-defined]


def test_set_restart_in_a_headless_kernel_refuses_before_any_write(
    rollout: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 14's third drift: the magic used to write first and then refuse to restart; like
    # rbx-secrets, it now refuses before anything is sent.
    cloud = rollout.cloud  # type: ignore[attr-defined]
    answer_input(monkeypatch, StdinNotImplementedError)
    monkeypatch.setenv("PAY_NEW", NEW)
    sent_before = len(cloud.fake.journal)
    message = rollout.usage_error("%rbx_secret_set PAY --from-env PAY_NEW --restart")
    assert "nothing was changed and nothing was restarted" in message and "add --yes" in message
    assert "Updated secret" not in rollout.last_output
    assert cloud.plaintext("PAY") == OLD
    # Only the forecast was read (to show what a restart would hit): not even the key.
    assert [e.operation for e in cloud.fake.journal[sent_before:]] == ["forecast_restart"]
    assert "restart_servers" not in operations(cloud)
    assert "launch_restart" not in operations(cloud)
    assert sent(rollout.before) == f"Bearer {OLD}"  # type: ignore[attr-defined]


def test_a_failed_write_does_not_restart(
    rollout: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    cloud.fake.inject_fault("update_secret", status=400)
    monkeypatch.setenv("PAY_NEW", NEW)
    message = rollout.usage_error("%rbx_secret_set PAY --from-env PAY_NEW --restart --legacy --yes")
    assert message.endswith(" Nothing was restarted.")
    assert "restart_servers" not in operations(cloud)
    assert cloud.plaintext("PAY") == OLD
    assert rollout.before.accepting_players  # type: ignore[attr-defined]


def test_a_restart_with_an_unknown_outcome_is_said_and_not_resent(rollout: MagicShell) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    cloud.fake.inject_fault("restart_servers", status=503)
    message = rollout.usage_error("%rbx_servers_restart --legacy --yes")
    assert message == (
        f"%rbx_servers_restart: Restart outcome unknown in universe "
        f"{cloud.universe_id} (see above)."
    )
    assert "Restart outcome unknown" in rollout.last_output
    assert operations(cloud).count("restart_servers") == 1


def test_delete_restart_removes_the_secret_from_new_servers(rollout: MagicShell) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    rollout.ok("%rbx_secret_delete PAY --restart --legacy --yes")
    assert not rollout.before.running  # type: ignore[attr-defined]
    (after,) = cloud.fake.servers(cloud.universe_id)
    with pytest.raises(GameServerError, match="Can't find secret with given key"):
        after.get_secret("PAY")


def test_delete_missing_ok_with_nothing_deleted_restarts_nothing(rollout: MagicShell) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    rollout.ok("%rbx_secret_delete GONE --missing-ok --restart --legacy --yes")
    assert f"Not restarting universe {cloud.universe_id}: nothing changed there." in (
        rollout.last_output
    )
    assert "restart_servers" not in operations(cloud)


def test_places_restart_only_those_places(rollout: MagicShell) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    uid = cloud.universe_id
    other = cloud.fake.start_server(uid, place_id=424242)
    rollout.ok("%rbx_servers_restart --legacy --places 424242 --yes")
    assert rollout.last_output.splitlines()[0] == (
        f"Servers of place 424242 in universe {uid} shut down now."
    )
    assert rollout.before.accepting_players and not other.running  # type: ignore[attr-defined]


def test_sync_restart_rolls_out_what_it_applied(
    rollout: MagicShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RBX_SECRETS_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "game.env").write_text(f"PAY={NEW}\n")
    rollout.ok("%rbx_secret_sync --env-file game.env --restart --legacy --bleed-off 3 --yes")
    assert rollout.before.state == "draining"  # type: ignore[attr-defined]
    newest = cloud.fake.servers(cloud.universe_id)[-1]
    # The .env file gives no domain: the update keeps api.example.com.
    assert sent(newest) == f"Bearer {NEW}"
    # Nothing to change: nothing is restarted again.
    rollout.ok("%rbx_secret_sync --env-file game.env --restart --legacy --yes")
    assert "nothing changed there" in rollout.last_output
    assert operations(cloud).count("restart_servers") == 1


def test_sync_restart_with_dry_run_is_refused(rollout: MagicShell) -> None:
    message = rollout.usage_error("%rbx_secret_sync --env-file x.env --dry-run --restart")
    assert "--dry-run changes nothing" in message


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("%rbx_servers_restart --legacy --bleed-off 0", "--bleed-off 0 is not a bleed-off"),
        (
            "%rbx_servers_restart --legacy --bleed-off 61",
            "--bleed-off takes whole minutes from 1 to 60",
        ),
        (
            "%rbx_servers_restart --legacy --bleed-off soon",
            "--bleed-off takes whole minutes from 1 to 60",
        ),
        ("%rbx_servers_restart --legacy --places 12,abc", "--places takes place ids"),
        (
            "%rbx_servers_restart --legacy --places 1 --universe 5,6",
            "--places names places of one universe",
        ),
        ("%rbx_secret_set PAY --bleed-off 5", "--bleed-off works only with --restart"),
        ("%rbx_secret_set PAY --yes", "--yes works only with --restart"),
        ("%rbx_secret_delete PAY --bleed-off 5 --yes", "--bleed-off works only with --restart"),
        ("%rbx_secret_set PAY --restart --legacy --bleed-off 99", "1 to 60"),
        ("%rbx_secret_set --env-file x.env --restart", "use %rbx_secret_sync --env-file FILE"),
        ("%rbx_secret_check PAY api.example.com/v1", "Invalid URL: it has no host"),
        ("%rbx_secret_check PAY ftp://api.example.com/", "only http:// and https://"),
        ("%rbx_secret_check PAY", "Give the URL the game calls: %rbx_secret_check NAME URL."),
    ],
)
def test_bad_input_is_one_line_before_any_request(
    rollout: MagicShell, line: str, words: str
) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    cloud.fake.clear_journal()
    message = rollout.usage_error(line)
    assert words in message
    assert operations(cloud) == []


def test_restart_without_a_universe_says_how_to_configure_one(shell: MagicShell) -> None:
    message = shell.usage_error("%rbx_servers_restart --legacy --yes")
    assert "No universe configured" in message


def test_check_says_no_and_which_domain_would_allow(rollout: MagicShell) -> None:
    rollout.ok("%rbx_secret_check PAY https://pay.example.com/")
    assert rollout.last_output.strip() == (
        "No: the domain api.example.com of PAY does not allow pay.example.com. To allow it, "
        "set --domain pay.example.com (this host only) or --domain '*.example.com' (every "
        "host under example.com). A secret has one domain: this replaces api.example.com."
    )
    # What the check says is what a game server does.
    with pytest.raises(GameServerError):
        rollout.before.http_request(  # type: ignore[attr-defined]
            "https://pay.example.com/", {"A": rollout.before.get_secret("PAY")}
        )  # type: ignore[attr-defined]


def test_check_of_a_missing_secret_is_one_line(rollout: MagicShell) -> None:
    cloud = rollout.cloud  # type: ignore[attr-defined]
    message = rollout.usage_error(f"%rbx_secret_check NOPE {URL}")
    assert message == (
        f"%rbx_secret_check: No secret named 'NOPE' in universe "
        f"{cloud.universe_id}; nothing to check (set it first, with --domain "
        "for the URL's host)."
    )


def test_check_across_universes_answers_each_before_naming_the_missing(
    shell: MagicShell, cloud: Any
) -> None:
    shell.ok(f"%config RbxSecretsMagics.base_url = {cloud.url!r}")
    cloud.fake.put_secret(STAGING, "PAY", OLD, domain="api.example.com")
    message = shell.usage_error(f"%rbx_secret_check PAY {URL} --universe staging,production")
    assert message == (
        f"%rbx_secret_check: No secret named 'PAY' in universe {PRODUCTION}; "
        "nothing to check (set it first, with --domain for the URL's host)."
    )
    # The universe that has it still gets its answer, as rbx-secrets check gives it.
    assert shell.last_output.splitlines()[0] == (
        f"Universe {STAGING}: Yes: a game server can send PAY to api.example.com "
        "(domain api.example.com allows api.example.com)."
    )


def test_check_never_repeats_the_url(rollout: MagicShell) -> None:
    # Refused since the sec review: a line that succeeded kept its token in the history.
    rollout.usage_error("%rbx_secret_check PAY https://api.example.com/v1?token=t0k3n-in-query")
    assert "t0k3n" not in rollout.last_output
    assert "t0k3n" not in rollout.history_text()


def test_completion_offers_the_new_magics_options(rollout: MagicShell) -> None:
    from rbxsecrets_magic.ipython.completion import MagicCompleter

    completer = MagicCompleter(rollout.magics)
    assert completer.complete("%rbx_servers_restart --") == [
        "--bleed-off",
        "--legacy",
        "--places",
        "--timeout",
        "--universe",
        "--wait",
        "--yes",
    ]
    assert {"--restart", "--bleed-off", "--yes"} <= set(
        completer.complete("%rbx_secret_set PAY --")
    )
    assert "PAY" in completer.complete("%rbx_secret_check ")
    assert completer.complete("%rbx_servers_restart --bleed-off ") == []
    assert completer.complete("%rbx_secret_set PAY --restart ") == completer.option_strings(
        "rbx_secret_set"
    )


def test_a_refused_check_keeps_a_plain_url_but_drops_one_with_a_query(rollout: MagicShell) -> None:
    rollout.usage_error(f"%rbx_secret_check NOPE {URL}")
    assert URL in rollout.history_text()
    rollout.usage_error("%rbx_secret_check NOPE https://api.example.com/v1?token=t0k3n-in-query")
    assert "t0k3n" not in rollout.history_text()
