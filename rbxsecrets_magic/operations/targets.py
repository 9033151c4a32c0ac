"""Which universes an operation acts on: ids, environment names and comma lists, resolved once.

Both front ends call :func:`resolve_targets` with what the user gave (each item may be a comma
list of universe ids and environment names of the manifest), how to read the manifest, and the
configured default. A refusal is a :class:`TargetError` carrying facts (which problem, from
which source, which environments exist); each front end words it with its own option names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from ..errors import InvalidInputError
from ..opencloud.validation import validate_universe_id
from ..secrets_as_code.manifest import Manifest, Target, split_tokens

__all__ = ["Problem", "TargetError", "resolve_targets"]

#: ``empty``: only commas or blanks were given; ``not_an_id``: digits that are no universe id;
#: ``unknown_name``: neither an id nor an environment of the manifest; ``none``: nothing was
#: given and nothing is configured; ``several``: more than one universe where one is taken.
Problem = Literal["empty", "not_an_id", "unknown_name", "none", "several"]


class TargetError(InvalidInputError):
    """The universes asked for cannot be resolved; the facts, for a front end to word.

    Attributes
    ----------
    problem:
        What is wrong (see :data:`Problem`).
    source:
        ``given`` (what the user gave for this operation) or ``default`` (the configured
        universe, e.g. ``RBX_UNIVERSE_ID``).
    manifest:
        The manifest's path when one was read, else None (names then need one).
    known:
        The manifest's environment names.
    """

    def __init__(
        self,
        problem: Problem,
        *,
        source: Literal["given", "default"] = "given",
        manifest: str | None = None,
        known: tuple[str, ...] = (),
    ) -> None:
        self.problem: Problem = problem
        self.source = source
        self.manifest = manifest
        self.known = known
        # Never the token itself: what was typed there may be a value given in the wrong place.
        super().__init__(f"cannot resolve the universes: {problem} ({source})")


def _is_id(token: str) -> bool:
    return token.isascii() and token.isdigit()


def _universe(token: str, source: Literal["given", "default"]) -> int:
    try:
        return validate_universe_id(token)
    except InvalidInputError:
        raise TargetError("not_an_id", source=source) from None


def resolve_targets(
    given: Sequence[str],
    *,
    manifest: Callable[[], Manifest | None],
    default: str | int | None = None,
    one: bool = False,
    labels: bool = True,
) -> list[Target]:
    """The universes ``given`` names, in order and each once, else the ``default`` one.

    Parameters
    ----------
    given:
        What the user gave (each item a comma list of ids and environment names); empty for
        none.
    manifest:
        Reads the manifest (or returns None without one). It is called only when needed: for
        an environment name, or for the labels of ids when ``labels`` is true.
    default:
        The configured universe (an id, or its text from the environment), used when nothing
        is given.
    one:
        Refuse more than one universe.
    labels:
        Label ids with their environment names (which reads the manifest for ids too).

    Raises
    ------
    TargetError
        For anything that cannot be resolved (see :data:`Problem`); nothing is repeated.
    ManifestError
        When the manifest read breaks a rule.
    """
    if not given:
        if default is None or not str(default).strip():
            raise TargetError("none")
        universe = _universe(str(default), "default")
        found = manifest() if labels else None
        return [Target(universe, found.environment_of(universe) if found else None)]
    tokens = list(dict.fromkeys(split_tokens(given)))
    if not tokens:
        raise TargetError("empty")
    names = not all(_is_id(t) for t in tokens)
    read = manifest() if names or labels else None
    wanted: dict[int, Target] = {}
    for token in tokens:
        if _is_id(token):
            universe = _universe(token, "given")
            target = Target(universe, read.environment_of(universe) if read else None)
        elif read is not None and token in read.environments:
            target = Target(read.environments[token], token)
        else:
            path = str(read.path) if read is not None and read.path is not None else None
            known = tuple(read.environments) if read is not None else ()
            raise TargetError("unknown_name", manifest=path, known=known)
        wanted.setdefault(target.universe_id, target)
    if one and len(wanted) > 1:
        raise TargetError("several")
    return list(wanted.values())
