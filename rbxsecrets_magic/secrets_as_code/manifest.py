"""The secrets manifest: which secrets exist in which experiences, with which domain; never values.

A manifest is a TOML file meant to be committed (``rbxsecrets.toml`` by default)::

    [environments]
    staging = 1234567
    production = 7654321

    [secrets.DISCORD_WEBHOOK]
    domain = "discord.com"

    [secrets.STRIPE_KEY]
    domain = "*.stripe.com"
    environments = ["production"]     # default: every environment
    from.production = "aws-sm:prod/stripe#key"   # where the value is kept (see value_from)

    [secrets.ANALYTICS_KEY]           # no domain: private

    [prune]
    protect = ["LEGACY_*"]            # never deleted by --prune

:func:`load_manifest` checks all of it before anything is sent: every problem is one
:class:`ManifestError` line naming the file, the table and the problem. Without a manifest, an
``.env`` file alone is the desired state (:func:`env_file_manifest`). :meth:`Manifest.targets`
turns ``--universe`` tokens (ids or environment names, comma lists allowed) and
``--environment`` names into universe ids.

This module imports only the standard library (``tomllib``) and the package's validation.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..opencloud.validation import validate_domain, validate_secret_id, validate_universe_id
from .value_from import ValueFrom, parse_value_from

__all__ = [
    "DEFAULT_MANIFEST",
    "Manifest",
    "ManifestError",
    "SecretSpec",
    "Target",
    "env_file_manifest",
    "find_manifest",
    "load_manifest",
    "split_tokens",
]

#: The manifest looked for in the working directory when none is named.
DEFAULT_MANIFEST = "rbxsecrets.toml"

_TOP_KEYS = ("environments", "secrets", "prune")
_SECRET_KEYS = ("domain", "environments", "from")
_PRUNE_KEYS = ("protect",)
# Environment names must not look like universe ids, so a --universe token is never ambiguous.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


class ManifestError(InvalidInputError):
    """The manifest or a target cannot be used; one line naming the file, table and problem."""


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """One managed secret as the desired state describes it (never its value).

    Attributes
    ----------
    id:
        The secret's name, which is also the environment variable its value is read from.
    domain:
        ``""`` for a private secret, a domain rule otherwise, or ``None`` when the desired
        state does not manage the domain (an ``.env`` file without ``--domain``): an existing
        secret keeps its domain and a new one is private.
    environments:
        Environment names the secret belongs to; ``None`` means every target.
    value_from:
        Where its value is kept (the manifest's ``from``), or None: ``--env-file`` or the
        environment.
    """

    id: str
    domain: str | None
    environments: tuple[str, ...] | None = None
    value_from: ValueFrom | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A universe a run acts on, with its environment name when the manifest gives one."""

    universe_id: int
    environment: str | None = None

    @property
    def label(self) -> str:
        """``"1234567 (staging)"``, or just the id."""
        if self.environment:
            return f"{self.universe_id} ({self.environment})"
        return str(self.universe_id)


@dataclass(frozen=True)
class Manifest:
    """The desired set of secrets: environments, secrets with their domains, protected globs.

    Attributes
    ----------
    path:
        Where it was read from; ``None`` for the desired state of an ``.env`` file alone.
    environments:
        Environment names mapped to universe ids, in file order.
    secrets:
        Secret ids mapped to their :class:`SecretSpec`, in file order.
    protect:
        Globs (``fnmatch``, case-sensitive) of secret ids that ``--prune`` never deletes.
    """

    path: str | None
    environments: Mapping[str, int] = field(default_factory=dict)
    secrets: Mapping[str, SecretSpec] = field(default_factory=dict)
    protect: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """How messages refer to this desired state."""
        return self.path if self.path is not None else "the .env file"

    def environment_of(self, universe_id: int) -> str | None:
        """The environment name of ``universe_id``, or None when the manifest names none."""
        for name, universe in self.environments.items():
            if universe == universe_id:
                return name
        return None

    def secrets_for(self, target: Target) -> list[SecretSpec]:
        """The secrets that belong in ``target``.

        A secret without ``environments`` belongs everywhere, including a universe given by
        id that the manifest does not name; one with ``environments`` only in those.
        """
        return [
            spec
            for spec in self.secrets.values()
            if spec.environments is None
            or (target.environment is not None and target.environment in spec.environments)
        ]

    def targets(
        self,
        universes: Sequence[str] = (),
        environments: Sequence[str] = (),
        *,
        default: str | None = None,
        everywhere: bool = True,
    ) -> list[Target]:
        """Resolve ``--universe`` tokens and ``--environment`` names to targets, in order.

        Each item may be a comma list. A universe token is an id or an environment name.
        With neither, ``default`` (``RBX_UNIVERSE_ID``) is used, else (if ``everywhere``)
        every environment of the manifest. A universe named twice is targeted once.

        Raises
        ------
        ManifestError
            For an unknown environment, an invalid universe id, or no target at all. The
            message does not repeat a token that is neither: it may be a mistyped value.
        """
        wanted: list[Target] = []
        for token in split_tokens(universes):
            wanted.append(self._resolve_universe(token))
        for token in split_tokens(environments):
            wanted.append(self._resolve_environment(token))
        if not wanted and default is not None and default.strip():
            try:
                universe = validate_universe_id(default)
            except InvalidInputError:
                raise ManifestError(
                    "RBX_UNIVERSE_ID is not a universe id (a positive whole number)"
                ) from None
            wanted.append(Target(universe, self.environment_of(universe)))
        if not wanted and everywhere:
            wanted = [Target(u, name) for name, u in self.environments.items()]
        if not wanted:
            more = (
                f", or list environments in the [environments] table of {DEFAULT_MANIFEST}"
                if everywhere
                else ""
            )
            raise ManifestError(
                f"no universe to act on: give --universe ID or set RBX_UNIVERSE_ID{more}"
            )
        unique: dict[int, Target] = {}
        for target in wanted:
            unique.setdefault(target.universe_id, target)
        return list(unique.values())

    def _known(self) -> str:
        if self.path is None:
            return f"environment names need a manifest: {DEFAULT_MANIFEST} here, or --manifest FILE"
        names = ", ".join(self.environments) or "none"
        return f"environments in {self.path}: {names}"

    def _resolve_universe(self, token: str) -> Target:
        if token.isascii() and token.isdigit():
            try:
                universe = validate_universe_id(token)
            except InvalidInputError as exc:
                raise ManifestError(f"--universe: {exc}") from None
            return Target(universe, self.environment_of(universe))
        if token in self.environments:
            return Target(self.environments[token], token)
        raise ManifestError(
            "--universe takes a universe id or an environment name, and one given is "
            f"neither ({self._known()})"
        )

    def _resolve_environment(self, token: str) -> Target:
        if token in self.environments:
            return Target(self.environments[token], token)
        raise ManifestError(f"--environment: unknown environment name ({self._known()})")


def split_tokens(items: Iterable[str]) -> list[str]:
    """Split repeated options that may each hold a comma list; drop empty pieces."""
    return [piece.strip() for item in items for piece in item.split(",") if piece.strip()]


def find_manifest(explicit: str | None, cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The manifest to use: ``explicit`` if given, else ``rbxsecrets.toml`` in ``cwd`` if present.

    Raises
    ------
    ManifestError
        When ``explicit`` names no file.
    """
    if explicit is not None:
        if not Path(explicit).expanduser().is_file():
            raise ManifestError("the file given to --manifest does not exist or is not a file")
        return explicit
    default = Path(cwd if cwd is not None else os.getcwd()) / DEFAULT_MANIFEST
    return str(default) if default.is_file() else None


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and check a manifest; every problem is one line naming the file and table.

    Raises
    ------
    ManifestError
        The file is unreadable or not TOML, or any rule of the manifest is broken: unknown
        key, invalid secret id or domain, unknown environment, duplicate universe, a secret
        listed for no environment.
    """
    name = str(path)
    try:
        with Path(path).expanduser().open("rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ManifestError(
            f"{name}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively; a manifest needs no
        # nesting at all, so deep nesting is a malformed file, not a bug of ours.
        raise ManifestError(
            f"{name}: not valid TOML for a manifest: arrays or tables nested too deeply"
        ) from None
    except UnicodeDecodeError:
        raise ManifestError(f"{name}: not UTF-8 text") from None
    return _parse(name, data)


def env_file_manifest(names: Iterable[str], domain: str | None) -> Manifest:
    """The desired state of an ``.env`` file alone: every entry, ``domain`` for all.

    ``domain`` None leaves existing secrets' domains alone (new ones are private), as
    ``%rbx_secret_set --env-file`` does.
    """
    domain = validate_domain(domain)
    return Manifest(path=None, secrets={n: SecretSpec(n, domain) for n in names})


# ----------------------------------------------------------------------------- parsing


def _fail(name: str, table: str, problem: str) -> ManifestError:
    return ManifestError(f"{name}: [{table}]: {problem}")


def _check_keys(name: str, table: str, data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for key in data:
        if key not in allowed:
            raise _fail(name, table, f"unknown key {_show(key)} (allowed: {', '.join(allowed)})")


def _show(text: str) -> str:
    # Manifests hold no values, but keep a pasted line from flooding the message.
    return repr(text if len(text) <= 64 else text[:61] + "...")


def _table(name: str, table: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(name, table, f"must be a table, not a {_toml_type(value)}")
    return value


def _toml_type(value: object) -> str:
    kinds = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    return kinds.get(type(value), type(value).__name__)


def _parse(name: str, data: Mapping[str, Any]) -> Manifest:
    for key in data:
        if key not in _TOP_KEYS:
            raise ManifestError(
                f"{name}: unknown table or key {_show(key)} (allowed: {', '.join(_TOP_KEYS)})"
            )
    environments = _parse_environments(name, data.get("environments", {}))
    secrets = _parse_secrets(name, data.get("secrets", {}), environments)
    protect = _parse_prune(name, data.get("prune", {}))
    return Manifest(path=name, environments=environments, secrets=secrets, protect=protect)


def _parse_environments(name: str, value: object) -> dict[str, int]:
    table = _table(name, "environments", value)
    found: dict[str, int] = {}
    seen: dict[int, str] = {}
    for env, universe in table.items():
        if _ENV_NAME.fullmatch(env) is None:
            raise _fail(
                name,
                "environments",
                f"environment name {_show(env)} must start with "
                "a letter or underscore and hold only letters, digits, _ and -",
            )
        if isinstance(universe, bool) or not isinstance(universe, int):
            raise _fail(
                name,
                "environments",
                f"{env} must be a universe id (an integer), not a {_toml_type(universe)}",
            )
        try:
            number = validate_universe_id(universe)
        except InvalidInputError:
            raise _fail(
                name,
                "environments",
                f"{env} = {universe} is not a universe id (a positive whole number)",
            ) from None
        if number in seen:
            raise _fail(
                name,
                "environments",
                f"{env} and {seen[number]} are the same "
                f"universe {number}; each universe may appear once",
            )
        seen[number] = env
        found[env] = number
    return found


def _parse_secrets(
    name: str, value: object, environments: Mapping[str, int]
) -> dict[str, SecretSpec]:
    table = _table(name, "secrets", value)
    found: dict[str, SecretSpec] = {}
    for secret_id, body in table.items():
        where = f"secrets.{secret_id}" if len(secret_id) <= 64 else "secrets"
        try:
            validate_secret_id(secret_id)
        except InvalidInputError as exc:
            reason = str(exc).removeprefix("Invalid secret id: ").rstrip(".")
            raise _fail(
                name, "secrets", f"{_show(secret_id)} is not a valid secret id: {reason}"
            ) from None
        if not isinstance(body, Mapping):
            # Most likely `NAME = "value"`: values never belong in a manifest. Not repeated.
            raise _fail(
                name,
                where,
                "must be a table ([secrets.NAME] with optional domain, "
                "environments and from); values never go in the manifest: they come from "
                "a from reference, --env-file or the environment",
            )
        _check_keys(name, where, body, _SECRET_KEYS)
        domain = _parse_domain(name, where, body.get("domain"))
        envs = _parse_secret_environments(name, where, body, environments)
        value_from = None
        if "from" in body:
            try:
                value_from = parse_value_from(body["from"], environments)
            except ValueError as exc:
                raise _fail(name, where, str(exc)) from None
        found[secret_id] = SecretSpec(secret_id, domain, envs, value_from)
    return found


def _parse_domain(name: str, where: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(name, where, f"domain must be a string, not a {_toml_type(value)}")
    try:
        return validate_domain(value) or ""
    except InvalidInputError as exc:
        raise _fail(name, where, str(exc).rstrip(".")) from None


def _parse_secret_environments(
    name: str, where: str, body: Mapping[str, Any], environments: Mapping[str, int]
) -> tuple[str, ...] | None:
    if "environments" not in body:
        return None
    value = body["environments"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(name, where, "environments must be an array of environment names")
    if not value:
        raise _fail(
            name,
            where,
            "environments is empty, so the secret is listed for no "
            "environment; remove the secret or name an environment",
        )
    for env in value:
        if env not in environments:
            known = ", ".join(environments) or "none"
            raise _fail(
                name,
                where,
                f"unknown environment {_show(env)} (the [environments] table has: {known})",
            )
    return tuple(dict.fromkeys(value))


def _parse_prune(name: str, value: object) -> tuple[str, ...]:
    table = _table(name, "prune", value)
    _check_keys(name, "prune", table, _PRUNE_KEYS)
    globs = table.get("protect", [])
    if not isinstance(globs, list) or not all(isinstance(g, str) and g for g in globs):
        raise _fail(
            name,
            "prune",
            'protect must be an array of non-empty glob strings, such as ["LEGACY_*"]',
        )
    return tuple(globs)
