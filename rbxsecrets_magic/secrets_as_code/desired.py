"""The desired state of a run: which secrets belong in which universe, and their values.

Values come from a value reference where the manifest gives one (``from``, for every
environment or per environment: ``sops:``, ``aws-sm:``, ``keyring:``, ...), else from
``--env-file FILE`` (read by :func:`rbxsecrets_magic.values.read_env_file`), else from the
process environment under the secret's own name, which is how CI passes them. References are
resolved once per run (one :class:`~rbxsecrets_magic.value_sources.ResolutionContext`: one
``sops`` call per file, one AWS call per secret id). A secret with no value anywhere, with a
value that breaks the rules, or whose reference does not resolve, is a problem of that secret
(in that universe) alone, named, never shown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInputError, ValueReferenceError
from ..opencloud.validation import validate_value
from ..settings import ENV_UNIVERSE_ID
from ..value_sources import ResolutionContext
from ..values import SecretValue, read_env_file
from .manifest import Manifest, SecretSpec, Target, env_file_manifest, split_tokens
from .value_from import ValueFrom

__all__ = ["DesiredState", "desired_state"]


@dataclass(frozen=True)
class DesiredState:
    """What a run wants: targets, the secrets each should hold, values, and value problems.

    Attributes
    ----------
    manifest:
        The manifest (or the ``.env``-only desired state) it came from.
    targets:
        The universes acted on.
    secrets:
        For each universe id, the specs of the secrets that belong there.
    values:
        Secret ids mapped to their checked values from ``--env-file`` or the environment
        (never shown by ``repr``), for the targets without a reference.
    problems:
        Secret ids mapped to why they have no usable value there.
    notes:
        Things worth saying that change nothing (e.g. ``.env`` entries the manifest lacks).
    resolved:
        ``(universe id, secret id)`` mapped to the value its reference resolved to.
    unresolved:
        ``(universe id, secret id)`` mapped to why its reference did not resolve.
    """

    manifest: Manifest
    targets: tuple[Target, ...]
    secrets: Mapping[int, tuple[SecretSpec, ...]]
    values: Mapping[str, SecretValue] = field(repr=False)
    problems: Mapping[str, str]
    notes: tuple[str, ...] = ()
    resolved: Mapping[tuple[int, str], SecretValue] = field(default_factory=dict, repr=False)
    unresolved: Mapping[tuple[int, str], str] = field(default_factory=dict)

    def value_for(self, universe_id: int, secret_id: str) -> SecretValue | None:
        """The value ``secret_id`` should hold in ``universe_id``, or None (see problem_for)."""
        found = self.resolved.get((universe_id, secret_id))
        return found if found is not None else self.values.get(secret_id)

    def problem_for(self, universe_id: int, secret_id: str) -> str | None:
        """Why ``secret_id`` has no usable value for ``universe_id``, or None."""
        if (universe_id, secret_id) in self.resolved:
            return None
        return self.unresolved.get((universe_id, secret_id)) or self.problems.get(secret_id)


def desired_state(
    manifest: Manifest | None,
    *,
    env_file: str | None,
    universes: Sequence[str] = (),
    environments: Sequence[str] = (),
    domain: str | None = None,
    environ: Mapping[str, str] | None = None,
    default_named: str = ENV_UNIVERSE_ID,
    references: Mapping[str, ValueFrom] | None = None,
) -> DesiredState:
    """Build the desired state from a manifest (or an ``.env`` file alone) and the targets.

    A default universe (``RBX_UNIVERSE_ID``) narrows a manifest run to itself, never
    silently: a note names the environments it left out and how to include them.

    Parameters
    ----------
    manifest:
        The loaded manifest; None to make every entry of ``env_file`` the desired state,
        with ``domain`` for all.
    env_file:
        A ``.env`` file to read values from first.
    universes, environments:
        ``--universe`` tokens and ``--environment`` names (comma lists allowed).
    domain:
        ``--domain``, only without a manifest.
    environ:
        The process environment (values and ``RBX_UNIVERSE_ID``); ``os.environ`` by default.
    default_named:
        How the note names where the default universe came from.
    references:
        Secret ids mapped to where their values are kept (the manifest's ``from``); relative
        paths in them start at the manifest's folder.

    Raises
    ------
    ManifestError, InvalidInputError
        For bad targets or options, before any request.
    ValueSourceError
        When ``env_file`` cannot be used (missing, unparsable, a bad entry).
    """
    env = os.environ if environ is None else environ
    # A value Roblox would refuse fails its own secret's row, not the whole file.
    invalid: dict[str, str] = {}
    from_file = read_env_file(env_file, invalid=invalid) if env_file is not None else {}
    in_file = list(dict.fromkeys([*from_file, *invalid]))
    notes: list[str] = []
    if manifest is None:
        if env_file is None:
            raise InvalidInputError(
                "nothing to compare with: give --manifest FILE, put rbxsecrets.toml in this "
                "directory, or give --env-file FILE (every entry is then a secret)"
            )
        manifest = env_file_manifest(in_file, domain)
    elif domain is not None:
        raise InvalidInputError(
            "--domain applies only without a manifest; domains come from the manifest"
        )
    else:
        extra = [name for name in in_file if name not in manifest.secrets]
        if extra:
            notes.append(
                f"ignored {len(extra)} entr{'y' if len(extra) == 1 else 'ies'} of the "
                f".env file not in {manifest.name}: {', '.join(extra)}"
            )
    default = env.get(ENV_UNIVERSE_ID)
    targets = manifest.targets(universes, environments, default=default)
    if default and not split_tokens(universes) and not split_tokens(environments):
        notes += _left_out(manifest, targets, default_named)
    secrets = {t.universe_id: tuple(manifest.secrets_for(t)) for t in targets}
    if references is None:
        references = {
            spec.id: spec.value_from
            for spec in manifest.secrets.values()
            if spec.value_from is not None
        }
    resolved, unresolved, needed = _resolve_references(manifest, targets, secrets, references, env)
    values: dict[str, SecretValue] = {}
    problems: dict[str, str] = {}
    for name in needed:
        if name in invalid:
            problems[name] = f"invalid value in the --env-file file for {name}: {invalid[name]}"
            continue
        value, problem = _value_of(name, from_file, env, env_file is not None)
        if value is not None:
            values[name] = value
        else:
            problems[name] = problem
    return DesiredState(
        manifest, tuple(targets), secrets, values, problems, tuple(notes), resolved, unresolved
    )


def _resolve_references(
    manifest: Manifest,
    targets: Sequence[Target],
    secrets: Mapping[int, tuple[SecretSpec, ...]],
    references: Mapping[str, ValueFrom],
    environ: Mapping[str, str],
) -> tuple[dict[tuple[int, str], SecretValue], dict[tuple[int, str], str], list[str]]:
    """Resolve every target's references in one run; the secret ids left to other sources."""
    resolved: dict[tuple[int, str], SecretValue] = {}
    unresolved: dict[tuple[int, str], str] = {}
    needed: dict[str, None] = {}
    base = Path(manifest.path).parent if manifest.path is not None else None
    with ResolutionContext(base_dir=base, environ=environ) as context:
        for target in targets:
            for spec in secrets[target.universe_id]:
                value_from = references.get(spec.id)
                ref = value_from.for_environment(target.environment) if value_from else None
                if ref is None:
                    needed[spec.id] = None
                    continue
                key = (target.universe_id, spec.id)
                try:
                    resolved[key] = context.resolve(ref)
                except ValueReferenceError as exc:
                    unresolved[key] = f"the value cannot be read: {exc}"
    return resolved, unresolved, list(needed)


def _left_out(manifest: Manifest, targets: Sequence[Target], default_named: str) -> list[str]:
    """The note for a run the default universe narrowed: what it left out, how to include it."""
    chosen = {t.universe_id for t in targets}
    left = [f"{name} ({u})" for name, u in manifest.environments.items() if u not in chosen]
    if not left:
        return []
    every = ",".join(manifest.environments)
    return [
        f"{default_named} narrows this run to universe {', '.join(t.label for t in targets)}; "
        f"left out: {', '.join(left)}; to include them, give --environment {every}"
    ]


def _value_of(
    name: str, from_file: Mapping[str, str], env: Mapping[str, str], had_file: bool
) -> tuple[SecretValue | None, str]:
    """The checked value of ``name``, or why there is none (never quoting the value)."""
    if name in from_file:
        return SecretValue(from_file[name]), ""
    raw = env.get(name)
    if raw is None:
        where = "the --env-file file or the environment" if had_file else "the environment"
        return None, f"no value: {name} is not set in {where}"
    if not raw:
        return None, (
            f"no value: the environment variable {name} is empty (a CI secret "
            "that does not exist reads as empty)"
        )
    try:
        return SecretValue(validate_value(raw)), ""
    except InvalidInputError as exc:
        reason = str(exc).removeprefix("Invalid value: ").rstrip(".")
        return None, f"invalid value in the environment variable {name}: {reason}"
