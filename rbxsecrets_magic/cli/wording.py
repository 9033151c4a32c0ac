"""How ``rbx-secrets`` words what the layers below report as facts: its own option names.

The operations layer raises typed errors (:class:`~rbxsecrets_magic.operations.targets.TargetError`,
...) and never names an option;
this module turns each into the one line the command line shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UnsetVariableError
from ..secrets_as_code.manifest import DEFAULT_MANIFEST
from ..settings import ENV_UNIVERSE_ID

if TYPE_CHECKING:
    from ..errors import ValueSource, ValueSourceError
    from ..operations.targets import TargetError

__all__ = ["target_problem", "value_problem"]

#: Each value source in rbx-secrets' option names.
_SOURCE_NAMES: dict[ValueSource, str] = {
    "env": "--from-env",
    "file": "--from-file",
    "env_file": "--env-file",
}

_ID_RULE = "a universe id is a positive whole number (the experience's Universe ID)"


def value_problem(exc: ValueSourceError) -> str:
    """A value source's refusal in rbx-secrets' option names."""
    name = _SOURCE_NAMES.get(exc.source) if exc.source is not None else None
    text = exc.worded(f" given to {name}" if name else "", _SOURCE_NAMES)
    unset = isinstance(exc, UnsetVariableError)
    return f"{text}; export it first, or use --from-file PATH or --stdin" if unset else text


def target_problem(exc: TargetError) -> str:
    """The one line for a ``--universe`` that cannot be resolved; it never repeats the text."""
    if exc.problem == "none":
        return f"no universe to act on: give --universe ID or set {ENV_UNIVERSE_ID}"
    if exc.problem == "empty":
        return "--universe is empty: give a universe id or an environment name of the manifest"
    if exc.problem == "not_an_id":
        if exc.source == "default":
            return f"{ENV_UNIVERSE_ID} is not a universe id (a positive whole number)"
        return f"--universe: {_ID_RULE}"
    if exc.problem == "several":
        return "--universe takes one universe here"
    if exc.manifest is None:
        known = f"environment names need a manifest: {DEFAULT_MANIFEST} here, or --manifest FILE"
    else:
        known = f"environments in {exc.manifest}: {', '.join(exc.known) or 'none'}"
    return (
        f"--universe takes a universe id or an environment name, and one given is neither ({known})"
    )
