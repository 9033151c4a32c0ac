"""Planning: compare the desired state with each universe and say what an apply would do.

For each target universe :func:`make_plan` lists the secrets once and fetches the public key
once (two requests), then classifies every secret:

====  ==========  ==========================================================================
mark  action      when
====  ==========  ==========================================================================
``+``  create     desired, absent
``~``  update     desired, present, and the value changed, the domain changed, it is sealed
                  with an old key, it was changed outside this tool since the last apply, or
                  its value cannot be verified (no state for it)
``=``  unchanged  desired, and value, domain, key_id and update_time all match the state
``-``  delete     present, not desired, not protected, and ``prune`` asked for
``.``  keep       present and not desired: protected, or not managed (no ``prune``)
``!``  error      desired, but no usable value; the rest of the plan still holds
====  ==========  ==========================================================================

A :class:`Plan` holds no value in anything it shows: its rows carry ids, actions and reasons,
and the values to write stay in a private mapping that ``repr`` never prints.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..opencloud.crypto import is_stale
from ..render.sync_view import render_html, render_text
from .desired import DesiredState
from .manifest import SecretSpec, Target
from .state import StateStore

if TYPE_CHECKING:
    from ..opencloud.client import SecretInfo, SecretsClient
    from ..values import SecretValue

__all__ = [
    "MARKERS",
    "Action",
    "Change",
    "Plan",
    "make_plan",
]

Action = Literal["create", "update", "unchanged", "delete", "keep", "error"]

#: The marker shown before each action, as in a Terraform plan.
MARKERS: dict[str, str] = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "unchanged": "=",
    "keep": ".",
    "error": "!",
}
#: Actions that send a request when applied.
WRITES = ("create", "update", "delete")

NOT_VERIFIABLE = "value not verifiable"
VALUE_CHANGED = "value changed"
DOMAIN_CHANGED = "domain changed"
OLD_KEY = "sealed with an old key"
DRIFT = "changed outside this tool since the last apply"


@dataclass(frozen=True, slots=True)
class Change:
    """One row of a plan: what happens to one secret in one universe, and why.

    Attributes
    ----------
    universe:
        The universe id.
    id:
        The secret id.
    action:
        ``create``, ``update``, ``unchanged``, ``delete``, ``keep`` or ``error``.
    reason:
        Why (``"value changed, domain changed"``, ``"protected"``, ``"no value: ..."``);
        empty for a plain create, unchanged or delete.
    environment:
        The universe's environment name, when the manifest gives one.
    domain:
        The domain the secret will have (``""`` private, ``None`` left as it is); for
        delete and keep rows, the domain it has now.
    """

    universe: int
    id: str
    action: Action
    reason: str = ""
    environment: str | None = None
    domain: str | None = None

    @property
    def marker(self) -> str:
        """``+ ~ - = . !``, as in :data:`MARKERS`."""
        return MARKERS[self.action]

    @property
    def writes(self) -> bool:
        """Whether applying this row sends a request."""
        return self.action in WRITES

    def to_json(self) -> dict[str, object]:
        """The row as in ``rbx-secrets plan --json``."""
        return {
            "universe": self.universe,
            "environment": self.environment,
            "id": self.id,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class Plan:
    """A plan for every target universe; renders as text, HTML (Jupyter) and JSON.

    Attributes
    ----------
    changes:
        One :class:`Change` per secret and universe, grouped by universe.
    targets:
        The universes planned for.
    api:
        The Open Cloud base URL the plan was made against (the state is kept per URL).
    notes:
        Remarks that change nothing (printed on stderr by the command line).
    prune:
        Whether deletions were planned.
    """

    changes: list[Change]
    targets: tuple[Target, ...]
    api: str
    notes: tuple[str, ...] = ()
    prune: bool = False
    values: Mapping[str, SecretValue] = field(default_factory=dict, repr=False)
    listed: Mapping[tuple[int, str], SecretInfo] = field(default_factory=dict, repr=False)
    resolved: Mapping[tuple[int, str], SecretValue] = field(default_factory=dict, repr=False)

    def value_for(self, universe_id: int, secret_id: str) -> SecretValue:
        """The value a create or update of ``secret_id`` in ``universe_id`` writes.

        Raises
        ------
        KeyError
            The plan has no value for it (an error row, or not desired).
        """
        found = self.resolved.get((universe_id, secret_id))
        return found if found is not None else self.values[secret_id]

    @property
    def pending(self) -> list[Change]:
        """The rows an apply would send a request for."""
        return [c for c in self.changes if c.writes]

    @property
    def deletions(self) -> list[Change]:
        """The rows an apply would delete."""
        return [c for c in self.changes if c.action == "delete"]

    def deletion_question(self) -> str:
        """``Delete 2 secret(s): OLD (1), LEGACY (2)?``, naming at most ten of them."""
        deletions = self.deletions
        names = ", ".join(f"{c.id} ({c.universe})" for c in deletions[:10])
        more = f" and {len(deletions) - 10} more" if len(deletions) > 10 else ""
        return f"Delete {len(deletions)} secret(s): {names}{more}?"

    @property
    def errors(self) -> list[Change]:
        """The rows that cannot be applied (no usable value)."""
        return [c for c in self.changes if c.action == "error"]

    def counts(self) -> dict[str, int]:
        """How many rows of each action, every action included."""
        counts = dict.fromkeys(MARKERS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def summary(self) -> str:
        """One line: ``Plan: 1 to create, 2 to update, 0 to delete, 5 unchanged, 1 kept.``"""
        n = self.counts()
        text = (
            f"Plan: {n['create']} to create, {n['update']} to update, {n['delete']} to "
            f"delete, {n['unchanged']} unchanged, {n['keep']} kept"
        )
        if n["error"]:
            text += f", {n['error']} with errors"
        return text + "."

    def to_json(self) -> dict[str, object]:
        """``{"changes": [{"universe", "environment", "id", "action", "reason"}, ...]}``."""
        return {"changes": [c.to_json() for c in self.changes]}

    def __repr__(self) -> str:
        """The plan as aligned text with ``+ ~ - =`` markers."""
        return render_text(self.targets, self.changes, self.summary())

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(repr(self))  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        """The plan as an HTML table (Jupyter)."""
        return render_html(self.targets, self.changes, self.summary())


def make_plan(
    desired: DesiredState,
    clients: Mapping[int, SecretsClient],
    state: StateStore,
    *,
    prune: bool = False,
    protect: Sequence[str] = (),
) -> Plan:
    """List each target universe once, fetch its key once, and classify every secret.

    Parameters
    ----------
    desired:
        What the run wants (see :func:`rbxsecrets_magic.secrets_as_code.desired.desired_state`).
    clients:
        A client per target universe id, all for the same base URL; an apply afterwards
        reuses their cached public keys.
    state:
        What this tool applied before.
    prune:
        Plan deletions of present secrets that are not desired and not protected.
    protect:
        Globs added to the manifest's ``[prune] protect``.

    Raises
    ------
    ApiError, TransportError
        When a listing or a key fetch fails; nothing has been written.
    """
    globs = (*desired.manifest.protect, *protect)
    changes: list[Change] = []
    listed: dict[tuple[int, str], SecretInfo] = {}
    api = ""
    for target in desired.targets:
        client = clients[target.universe_id]
        api = client.base_url
        present = {info.id: info for info in client.list()}
        current_key = client.public_key().key_id
        for info in present.values():
            listed[(target.universe_id, info.id)] = info
        wanted = desired.secrets[target.universe_id]
        for spec in wanted:
            changes.append(
                _classify(spec, present.get(spec.id), current_key, target, desired, state, api)
            )
        names = {spec.id for spec in wanted}
        for info in present.values():
            if info.id not in names:
                changes.append(_extra(info, target, prune, globs))
    return Plan(
        changes,
        desired.targets,
        api,
        desired.notes,
        prune,
        desired.values,
        listed,
        desired.resolved,
    )


def _classify(
    spec: SecretSpec,
    info: SecretInfo | None,
    current_key: str,
    target: Target,
    desired: DesiredState,
    state: StateStore,
    api: str,
) -> Change:
    """The row of a desired secret."""
    universe, env = target.universe_id, target.environment
    problem = desired.problem_for(universe, spec.id)
    if problem is not None:
        return Change(universe, spec.id, "error", problem, env, spec.domain)
    if info is None:
        return Change(universe, spec.id, "create", "", env, spec.domain)
    reasons = list(_update_reasons(spec, info, current_key, universe, desired, state, api))
    if reasons:
        return Change(universe, spec.id, "update", ", ".join(reasons), env, spec.domain)
    return Change(universe, spec.id, "unchanged", "", env, info.domain or "")


def _update_reasons(
    spec: SecretSpec,
    info: SecretInfo,
    current_key: str,
    universe: int,
    desired: DesiredState,
    state: StateStore,
    api: str,
) -> Iterable[str]:
    """Every reason a present, desired secret needs writing; none means unchanged."""
    record = state.get(api, universe, spec.id)
    if record is None:
        yield NOT_VERIFIABLE
    elif not record.matches(info.domain, info.key_id, info.update_time):
        yield DRIFT
    elif not state.verifies(record, api, universe, spec.id, _value(desired, universe, spec.id)):
        yield VALUE_CHANGED
    # A private secret lists its domain as null; the manifest says "" for private.
    if spec.domain is not None and (info.domain or "") != spec.domain:
        yield DOMAIN_CHANGED
    if is_stale(info.key_id, current_key):
        yield OLD_KEY


def _value(desired: DesiredState, universe: int, secret_id: str) -> str:
    found = desired.value_for(universe, secret_id)
    if found is None:  # _classify made an error row of it before asking
        raise AssertionError(f"no value for {secret_id} in {universe}")
    return found.reveal()


def _extra(info: SecretInfo, target: Target, prune: bool, globs: Sequence[str]) -> Change:
    """The row of a present secret the desired state does not include."""
    universe, env = target.universe_id, target.environment
    if any(fnmatch.fnmatchcase(info.id, glob) for glob in globs):
        return Change(universe, info.id, "keep", "protected", env, info.domain)
    if prune:
        return Change(universe, info.id, "delete", "not in the desired state", env, info.domain)
    return Change(universe, info.id, "keep", "not managed", env, info.domain)
