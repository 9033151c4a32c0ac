"""The operations layer: each rule once against the layer, then the drift cases of issue 14
through both front ends (the magics and ``rbx-secrets``)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import pytest
from IPython.core.error import StdinNotImplementedError

from rbxsecrets_magic import SecretsClient
from rbxsecrets_magic.errors import NotConfirmedError
from rbxsecrets_magic.operations.interaction import Interaction
from rbxsecrets_magic.operations.rollout import RestartOptions
from rbxsecrets_magic.operations.sync import apply, plan
from rbxsecrets_magic.operations.writes import (
    MissingSecretsError,
    RestartRequest,
    delete_secrets,
    set_secret,
)
from rbxsecrets_magic.secrets_as_code.manifest import Target
from rbxsecrets_magic.secrets_as_code.state import StateStore
from rbxsecrets_magic.secrets_as_code.sync import load_desired
from rbxsecrets_magic.values import SecretValue
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, VALUES, rbx

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell

STAGE = [Target(STAGING, "staging")]


class Asker:
    """``ask`` that records each question and gives one answer."""

    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.questions: list[str] = []

    def __call__(self, question: str) -> bool | None:
        self.questions.append(question)
        return self.answer


@pytest.fixture
def clients(cloud: Any) -> Any:
    made: dict[int, SecretsClient] = {}

    def client_for(universe: int) -> SecretsClient:
        if universe not in made:
            made[universe] = SecretsClient(universe, api_key=cloud.api_key, base_url=cloud.url)
        return made[universe]

    yield client_for
    for client in made.values():
        client.close()


def planned_actions(client_for: Any) -> dict[tuple[int, str], str]:
    desired = load_desired(None, env_file=".env")
    clients = {t.universe_id: client_for(t.universe_id) for t in desired.targets}
    return {(c.universe, c.id): c.action for c in plan(desired, clients, StateStore()).changes}


# ------------------------------------------------------------------ rules, against the layer


def test_a_set_records_state_so_the_next_plan_says_unchanged(cloud: Any, clients: Any) -> None:
    value = VALUES["ANALYTICS_KEY"]
    report = set_secret(
        "ANALYTICS_KEY", lambda: SecretValue(value), STAGE, clients, state=StateStore()
    )
    assert [(r.action, r.result) for r in report.rows] == [("created", "done")]
    assert planned_actions(clients)[(STAGING, "ANALYTICS_KEY")] == "unchanged"
    assert cloud.plaintext("ANALYTICS_KEY", STAGING) == value


def test_a_set_without_state_is_unverifiable_for_the_next_plan(cloud: Any, clients: Any) -> None:
    # The control for the test above: what a write that records nothing leaves behind.
    set_secret("ANALYTICS_KEY", lambda: SecretValue(VALUES["ANALYTICS_KEY"]), STAGE, clients)
    assert planned_actions(clients)[(STAGING, "ANALYTICS_KEY")] == "update"


@pytest.mark.parametrize("answer", [None, False])
def test_deleting_asks_and_refuses_before_any_deletion(
    cloud: Any, clients: Any, answer: bool | None
) -> None:
    cloud.fake.put_secret(STAGING, "OLD", "v")
    ask = Asker(answer)
    with pytest.raises(NotConfirmedError) as info:
        delete_secrets(["OLD"], STAGE, clients, interaction=Interaction(ask=ask))
    assert info.value.action == "delete" and info.value.could_ask is (answer is not None)
    assert ask.questions == [f"Delete OLD in universe {STAGING} (staging)? [y/N] "]
    assert cloud.fake.secret_ids(STAGING) == ["OLD"]


def test_yes_deletes_without_asking_and_forgets_the_state(cloud: Any, clients: Any) -> None:
    state = StateStore()
    set_secret("OLD", lambda: SecretValue("v1"), STAGE, clients, state=state)
    assert state.get(cloud.url, STAGING, "OLD") is not None
    ask = Asker(None)
    report = delete_secrets(
        ["OLD"], STAGE, clients, yes=True, state=state, interaction=Interaction(ask=ask)
    )
    assert [r.result for r in report.rows] == ["done"] and ask.questions == []
    assert StateStore().get(cloud.url, STAGING, "OLD") is None
    assert cloud.fake.secret_ids(STAGING) == []


def test_a_missing_name_stops_before_asking_or_deleting(cloud: Any, clients: Any) -> None:
    cloud.fake.put_secret(STAGING, "HERE", "v")
    ask = Asker(True)
    with pytest.raises(MissingSecretsError) as info:
        delete_secrets(["HERE", "GONE"], STAGE, clients, interaction=Interaction(ask=ask))
    assert info.value.names == ["GONE"] and ask.questions == []
    assert cloud.fake.secret_ids(STAGING) == ["HERE"]


@pytest.mark.parametrize("operation", ["set", "delete", "apply"])
def test_a_restart_nothing_can_confirm_is_refused_before_any_write(
    cloud: Any, clients: Any, operation: str
) -> None:
    cloud.fake.put_secret(STAGING, "OLD", "v")
    restart = RestartRequest(RestartOptions(legacy=True))
    nobody = Interaction(ask=Asker(None))
    with pytest.raises(NotConfirmedError) as info:
        if operation == "set":
            set_secret(
                "NEW", lambda: SecretValue("v"), STAGE, clients, restart=restart, interaction=nobody
            )
        elif operation == "delete":
            delete_secrets(["OLD"], STAGE, clients, yes=True, restart=restart, interaction=nobody)
        else:
            desired = load_desired(None, env_file=".env", universes=["staging"])
            planned = plan(desired, {STAGING: clients(STAGING)}, StateStore())
            apply(
                planned,
                {STAGING: clients(STAGING)},
                StateStore(),
                restart=restart,
                interaction=nobody,
            )
    assert info.value.action == "restart" and not info.value.could_ask
    assert [e.method for e in cloud.fake.journal if e.method != "GET"] == []


def test_a_confirmed_restart_follows_the_writes_that_were_done(cloud: Any, clients: Any) -> None:
    ask = Asker(True)
    report = set_secret(
        "NEW",
        lambda: SecretValue("v"),
        [Target(STAGING, "staging"), Target(PRODUCTION, "production")],
        clients,
        restart=RestartRequest(RestartOptions(legacy=True)),
        interaction=Interaction(ask=ask),
    )
    assert ask.questions == [
        "Restart the servers of 2 universes? Players on them are disconnected. [y/N] "
    ]
    assert [r.result for r in report.rows] == ["done", "done"]
    assert [o.target.universe_id for o in report.restarts] == [STAGING, PRODUCTION]


# ------------------------------------------------------------- the drift cases, both front ends


@pytest.fixture
def magics(shell: MagicShell, cloud: Any) -> MagicShell:
    """The magics on the same fake, manifest and state directory as ``rbx-secrets``."""
    shell.ok("%config RbxSecretsMagics.progress = False")
    return shell


def test_a_magic_set_of_the_applied_value_leaves_the_plan_unchanged(
    magics: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rbx("apply", "--env-file", ".env", "--universe", "staging").code == 0
    monkeypatch.setenv("AK", VALUES["ANALYTICS_KEY"])
    magics.ok("%rbx_secret_set ANALYTICS_KEY --from-env AK --universe staging")
    planned = rbx("plan", "--env-file", ".env", "--universe", "staging", "--json")
    assert planned.rows()[(STAGING, "ANALYTICS_KEY")]["action"] == "unchanged"


def test_a_cli_set_of_the_applied_value_leaves_the_plan_unchanged(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rbx("apply", "--env-file", ".env", "--universe", "staging").code == 0
    monkeypatch.setenv("AK", VALUES["ANALYTICS_KEY"])
    assert rbx("set", "ANALYTICS_KEY", "--from-env", "AK", "--universe", "staging").code == 0
    planned = rbx("plan", "--env-file", ".env", "--universe", "staging", "--json")
    assert planned.rows()[(STAGING, "ANALYTICS_KEY")]["action"] == "unchanged"


def _headless(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_stdin(_prompt: str = "") -> str:
        raise StdinNotImplementedError("no frontend stdin")

    monkeypatch.setattr(builtins, "input", no_stdin)


def test_both_front_ends_ask_before_deleting(
    magics: MagicShell, cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.fake.put_secret(STAGING, "A", "v")
    cloud.fake.put_secret(STAGING, "B", "v")
    _headless(monkeypatch)
    message = magics.usage_error("%rbx_secret_delete A --universe staging")
    assert "nothing was deleted" in message and "add --yes" in message
    assert rbx("delete", "A", "--universe", "staging").code == 1  # no terminal either
    assert cloud.fake.secret_ids(STAGING) == ["A", "B"]

    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda q="": asked.append(q) or "y")
    magics.ok("%rbx_secret_delete A --universe staging")
    assert asked == [f"Delete A in universe {STAGING}? [y/N] "]
    assert rbx("delete", "B", "--universe", "staging", "--yes").code == 0
    assert cloud.fake.secret_ids(STAGING) == []


@pytest.mark.parametrize(
    "line",
    [
        "%rbx_secret_set NEW --from-env AK --universe staging --restart --legacy",
        "%rbx_secret_delete OLD --universe staging --restart --legacy",
        "%rbx_secret_sync --env-file .env --universe staging --restart --legacy",
    ],
)
def test_a_magic_restart_nothing_can_confirm_writes_nothing(
    magics: MagicShell, cloud: Any, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    cloud.fake.put_secret(STAGING, "OLD", "v")
    monkeypatch.setenv("AK", "v2")
    _headless(monkeypatch)
    message = magics.usage_error(line)
    assert "nothing was" in message and "add --yes" in message
    assert [e.method for e in cloud.fake.journal if e.method != "GET"] == []
    assert cloud.fake.secret_ids(STAGING) == ["OLD"]


@pytest.mark.parametrize(
    "argv",
    [
        ["set", "NEW", "--from-env", "AK", "--universe", "staging", "--restart", "--legacy"],
        ["delete", "OLD", "--universe", "staging", "--restart", "--legacy"],
        ["apply", "--env-file", ".env", "--universe", "staging", "--restart", "--legacy"],
    ],
)
def test_a_cli_restart_nothing_can_confirm_writes_nothing(
    cloud: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    cloud.fake.put_secret(STAGING, "OLD", "v")
    monkeypatch.setenv("AK", "v2")
    result = rbx(*argv)
    assert result.code == 1 and "--yes" in result.err
    assert [e.method for e in cloud.fake.journal if e.method != "GET"] == []
    assert cloud.fake.secret_ids(STAGING) == ["OLD"]
