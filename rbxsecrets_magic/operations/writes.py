"""Setting and deleting secrets, with the rules both front ends follow.

* **State for every write.** A set that is done records the value's keyed fingerprint in the
  state file (the one ``rbx-secrets apply`` keeps), a deletion that is done forgets it, and a
  set with an unknown outcome forgets it: so the next plan says ``unchanged`` after a
  ``%rbx_secret_set`` of the value ``apply`` wrote, and never trusts a write it cannot see.
* **Deleting asks first** (:func:`~.interaction.confirm`): wherever a person can answer,
  ``yes`` skips it, and where nothing can ask without ``yes`` nothing is deleted.
* **A restart is decided before any write** (:func:`~.rollout.confirm_restart`): where the
  answer is no or nothing can ask without ``yes``, nothing is written; after the writes, each
  universe whose writes were all done is restarted once (:func:`~.rollout.restart_after`).
* **Every universe is written**, even after one failed: they are independent, and each row is
  reported for what it is.

A value is read once, after every check and request that could fail first, from a
:data:`ValueSource`: the front ends pass a masked prompt, an environment variable, a file, a
pipe or a variable; later sources (``env:NAME``, ``file:PATH``, ``sops:...`` references) plug
in here without touching the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInputError, NotFoundError, RbxSecretsError
from .interaction import Interaction, confirm
from .results import WriteReport, WriteRow
from .rollout import (
    RestartOptions,
    RestartTarget,
    check_places_fit,
    confirm_restart,
    restart_targets_after_writes,
    restart_universes,
)

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..secrets_as_code.manifest import Target
    from ..secrets_as_code.state import StateStore
    from ..values import SecretValue

__all__ = [
    "MissingSecretsError",
    "RestartRequest",
    "ValueSource",
    "delete_secrets",
    "prepare_restart",
    "restart_after",
    "set_secret",
]

#: Reads the value, once, when every check before it has passed.
ValueSource = Callable[[], "SecretValue"]
#: A client for a universe (the front end's pool: one per credential, one pacer).
ClientFor = Callable[[int], "SecretsClient"]


class MissingSecretsError(InvalidInputError):
    """Secrets to delete are missing from a universe; nothing was deleted.

    Attributes
    ----------
    target:
        The universe.
    names:
        The missing secrets, in the order given.
    """

    def __init__(self, target: Target, names: Sequence[str]) -> None:
        """Record the universe and the missing names."""
        quoted = ", ".join(f"'{n}'" for n in names)
        plural = "s" if len(names) > 1 else ""
        super().__init__(
            f"no secret{plural} named {quoted} in universe {target.label}; nothing was deleted"
        )
        self.target = target
        self.names = list(names)


@dataclass(frozen=True)
class RestartRequest:
    """A restart asked for after writes: how, and whether it was confirmed in advance."""

    options: RestartOptions
    yes: bool = False


def _restart_targets(targets: Sequence[Target]) -> list[RestartTarget]:
    return [RestartTarget(t.universe_id, t.label) for t in targets]


#: The universes a confirmed restart may restart after the writes, each with its forecast.
Confirmed = Mapping[int, RestartTarget]


def prepare_restart(
    restart: RestartRequest | None,
    targets: Sequence[Target],
    interaction: Interaction,
    client_for: ClientFor,
) -> Confirmed:
    """Before any write: check the restart fits, forecast and confirm it (nothing is written
    if not); return the universes it may restart (none where no server is running).

    Raises
    ------
    InvalidInputError
        For places with several universes.
    NotConfirmedError
        When the restart is not confirmed.
    RbxSecretsError
        When a forecast fails; nothing was written.
    """
    if restart is None or not targets:
        return {}
    restart_targets = _restart_targets(targets)
    check_places_fit(restart.options, restart_targets)
    confirmed = confirm_restart(
        restart_targets,
        restart.options,
        yes=restart.yes,
        interaction=interaction,
        client_for=client_for,
    )
    return {target.universe_id: target for target in confirmed}


def restart_after(
    restart: RestartRequest,
    results: Sequence[tuple[int, str]],
    labels: Mapping[int, str],
    client_for: ClientFor,
    interaction: Interaction,
    confirmed: Confirmed,
) -> tuple[list[RestartOutcome], list[str]]:
    """After the writes: restart each universe whose writes were all done, and that was
    confirmed (one where no server was running was said so already); say the others."""
    targets, notes = restart_targets_after_writes(results, labels)
    for note in notes:
        interaction.say(note)
    chosen = [confirmed[t.universe_id] for t in targets if t.universe_id in confirmed]
    outcomes = restart_universes(
        chosen,
        restart.options,
        client_for,
        say=interaction.say,
        progress=interaction.progress,
    )
    return outcomes, notes


def _finish(
    rows: list[WriteRow],
    targets: Sequence[Target],
    restart: RestartRequest | None,
    client_for: ClientFor,
    interaction: Interaction,
    confirmed: Confirmed,
) -> WriteReport:
    if restart is None:
        return WriteReport(rows)
    results = [(row.universe, row.result) for row in rows]
    labels = {t.universe_id: t.label for t in targets}
    outcomes, notes = restart_after(restart, results, labels, client_for, interaction, confirmed)
    return WriteReport(rows, outcomes, notes)


def _quiet(action: Callable[[], object], say: Callable[[str], None] | None = None) -> None:
    # The state file is a convenience for the next plan; failing to write it is not a failure
    # of the write it describes, but it is said (a StateError names the path and the reason).
    try:
        action()
    except OSError as exc:
        if say is not None:
            say(f"note: not recorded in the state: {str(exc) or type(exc).__name__}")


def _set_in(
    client: SecretsClient,
    target: Target,
    name: str,
    value: SecretValue,
    domain: str | None,
    exists: bool | None,
    state: StateStore | None,
    say: Callable[[str], None] | None = None,
) -> WriteRow:
    """Set ``name`` in one universe, record it in the state, and say how it went."""
    universe = target.universe_id
    try:
        result = client.set(name, value.reveal(), domain=domain, exists=exists)
    except RbxSecretsError as error:
        unknown = error.outcome_unknown
        if unknown and state is not None:
            _quiet(lambda: state.forget(client.base_url, universe, name), say)
        return WriteRow(
            target,
            name,
            "set",
            "unknown" if unknown else "failed",
            " ".join(str(error).split()),
            error,
            length=len(value),
        )
    info = result.info
    if info is not None and state is not None:
        _quiet(
            lambda: state.record(
                client.base_url,
                universe,
                name,
                value.reveal(),
                domain=info.domain,
                key_id=info.key_id,
                update_time=info.update_time,
            ),
            say,
        )
    return WriteRow(target, name, result.action, "done", info=info, length=len(value))


def set_secret(
    name: str,
    read_value: ValueSource,
    targets: Sequence[Target],
    client_for: ClientFor,
    *,
    domain: str | None = None,
    state: StateStore | None = None,
    restart: RestartRequest | None = None,
    interaction: Interaction | None = None,
    exists: Callable[[int], bool | None] | None = None,
    on_row: Callable[[WriteRow], None] | None = None,
) -> WriteReport:
    """Create or update ``name`` in each of ``targets``, with one value read once.

    The order: a restart is confirmed (before any request); every universe's key is fetched
    (a bad key, universe or server fails before anyone types a value); the value is read and
    checked; then it is set in each universe, each row passed to ``on_row`` as it is made;
    then the restart.

    Parameters
    ----------
    exists:
        A hint per universe: True when the secret was seen there (update first, one request
        fewer), None when not known.
    on_row:
        Called with each row as soon as it is made, for the front end to say it.

    Raises
    ------
    InvalidInputError, ValueSourceError
        The value is invalid or cannot be read, before anything is written.
    NotConfirmedError
        ``restart`` was not confirmed; nothing was written.
    ApiError, TransportError
        From fetching a key, before anything is written.
    """
    from ..opencloud.validation import validate_value

    interaction = interaction or Interaction()
    confirmed = prepare_restart(restart, targets, interaction, client_for)
    clients = {t.universe_id: client_for(t.universe_id) for t in targets}
    for client in clients.values():
        client.public_key()
    value = read_value()
    validate_value(value.reveal())
    rows: list[WriteRow] = []
    for target in targets:
        hint = exists(target.universe_id) if exists is not None else None
        client = clients[target.universe_id]
        row = _set_in(client, target, name, value, domain, hint, state, interaction.say)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return _finish(rows, targets, restart, client_for, interaction, confirmed)


def deletion_question(names: Sequence[str], targets: Sequence[Target]) -> str:
    """The question asked before deleting ``names`` in ``targets``."""
    where = ", ".join(t.label for t in targets)
    return f"Delete {', '.join(names)} in universe {where}? [y/N] "


def delete_secrets(
    names: Sequence[str],
    targets: Sequence[Target],
    client_for: ClientFor,
    *,
    missing_ok: bool = False,
    yes: bool = False,
    state: StateStore | None = None,
    restart: RestartRequest | None = None,
    interaction: Interaction | None = None,
    on_row: Callable[[WriteRow], None] | None = None,
) -> WriteReport:
    """Delete ``names`` in each of ``targets``, after confirming (see the module docstring).

    Unless ``missing_ok``, every universe is listed first and a name missing anywhere stops
    the run before anything is deleted (or asked).

    Raises
    ------
    MissingSecretsError
        A name is missing (without ``missing_ok``); nothing was deleted.
    NotConfirmedError
        The deletion or the restart was not confirmed; nothing was deleted.
    """
    interaction = interaction or Interaction()
    if restart is not None:
        check_places_fit(restart.options, _restart_targets(targets))
    if not missing_ok:
        for target in targets:
            present = {info.id for info in client_for(target.universe_id).list()}
            missing = [n for n in names if n not in present]
            if missing:
                raise MissingSecretsError(target, missing)
    confirm(deletion_question(names, targets), action="delete", yes=yes, interaction=interaction)
    confirmed = prepare_restart(restart, targets, interaction, client_for)
    rows: list[WriteRow] = []
    for target in targets:
        client = client_for(target.universe_id)
        for name in names:
            row = _delete_in(client, target, name, state, interaction.say)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return _finish(rows, targets, restart, client_for, interaction, confirmed)


def _delete_in(
    client: SecretsClient,
    target: Target,
    name: str,
    state: StateStore | None,
    say: Callable[[str], None] | None = None,
) -> WriteRow:
    try:
        client.delete(name)
    except NotFoundError as exc:
        return WriteRow(target, name, "delete", "skipped", "not found", exc)
    except RbxSecretsError as exc:
        unknown = exc.outcome_unknown
        error = " ".join(str(exc).split())
        return WriteRow(target, name, "delete", "unknown" if unknown else "failed", error, exc)
    if state is not None:
        _quiet(lambda: state.forget(client.base_url, target.universe_id, name), say)
    return WriteRow(target, name, "delete", "done")


if TYPE_CHECKING:
    from .rollout import RestartOutcome
