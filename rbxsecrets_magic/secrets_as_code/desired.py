"""The desired state of a run: which secrets belong in which universe, and their values.

Values come from ``--env-file FILE`` (read by :func:`rbxsecrets_magic.values.read_env_file`),
else from the process environment under the secret's own name, which is how CI passes them.
One run gives the same value to every target it names. A secret with no value anywhere, or
with a value that breaks the rules, is a problem of that secret alone, named, never shown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InvalidInputError
from ..opencloud.validation import validate_value
from ..settings import ENV_UNIVERSE_ID
from ..values import SecretValue, read_env_file
from .manifest import Manifest, SecretSpec, Target, env_file_manifest

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
        Secret ids mapped to their checked values (never shown by ``repr``).
    problems:
        Secret ids mapped to why they have no usable value.
    notes:
        Things worth saying that change nothing (e.g. ``.env`` entries the manifest lacks).
    """

    manifest: Manifest
    targets: tuple[Target, ...]
    secrets: Mapping[int, tuple[SecretSpec, ...]]
    values: Mapping[str, SecretValue] = field(repr=False)
    problems: Mapping[str, str]
    notes: tuple[str, ...] = ()


def desired_state(
    manifest: Manifest | None,
    *,
    env_file: str | None,
    universes: Sequence[str] = (),
    environments: Sequence[str] = (),
    domain: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DesiredState:
    """Build the desired state from a manifest (or an ``.env`` file alone) and the targets.

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
    targets = manifest.targets(universes, environments, default=env.get(ENV_UNIVERSE_ID))
    secrets = {t.universe_id: tuple(manifest.secrets_for(t)) for t in targets}
    needed = dict.fromkeys(spec.id for specs in secrets.values() for spec in specs)
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
    return DesiredState(manifest, tuple(targets), secrets, values, problems, tuple(notes))


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
