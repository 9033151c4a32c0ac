"""Tab completion for the ``%rbx_secret_*`` magics and ``%rbx_servers_restart``.

Registered as a matcher in ``ip.Completer.custom_matchers``, so it works in the terminal, in
Jupyter and anywhere else that uses ``ip.Completer``. A matcher, rather than the older
``complete_command`` hook, because only a matcher can silence Jedi, which reads a magic line
as Python and would offer every builtin after ``--``. It completes the options of each magic,
secret names from the last listing (kept up to date by set and delete), environment variable
names after ``--from-env``, string variables after ``--from-var``, and leaves paths after
``--from-file``/``--env-file``/``--manifest`` to IPython's own file completion.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .options import OPTIONS, Kind, kind_of

__all__ = ["MagicCompleter", "register"]

if TYPE_CHECKING:
    from IPython.core.completer import CompletionContext
    from IPython.core.interactiveshell import InteractiveShell

# Offered nothing after them: IPython's file matcher completes a path, the rest is free text.
_QUIET_KINDS = frozenset(
    {Kind.PATH, Kind.DOMAIN, Kind.GLOB, Kind.PLACES, Kind.MINUTES, Kind.REFERENCE, Kind.SECONDS}
)
_FLAG_OPTIONS = frozenset(name for name, o in OPTIONS.items() if o.kind is Kind.FLAG)


def _split(text_until_cursor: str) -> tuple[list[str], str]:
    """Return the finished words before the cursor and the word being typed."""
    words = text_until_cursor.split()
    if not words or text_until_cursor[-1:].isspace():
        return words, ""
    return words[:-1], words[-1]


def _universe_on_line(words: Iterable[str]) -> int | None:
    previous = ""
    for word in words:
        value = (
            word.partition("=")[2]
            if word.startswith("--universe=")
            else (word if previous == "--universe" else None)
        )
        if value is not None:
            return int(value) if value.isdigit() else None
        previous = word
    return None


def _positionals(words: list[str]) -> list[str]:
    found: list[str] = []
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word not in _FLAG_OPTIONS and "=" not in word
        else:
            found.append(word)
    return found


class MagicCompleter:
    """An IPython completion matcher (API v2) for one :class:`RbxSecretsMagics` instance."""

    matcher_api_version = 2
    matcher_identifier = "rbxsecrets_magic.ipython.completion.MagicCompleter"
    # Ahead of IPython's own matchers, so that suppressing them also drops what they found.
    matcher_priority = 1.0

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        # IPython reads __qualname__ even when matcher_identifier is set; instances lack it.
        self.__qualname__ = self.matcher_identifier

    def option_strings(self, magic: str) -> list[str]:
        """The long options of ``magic``, from its argparse parser."""
        method = getattr(self.magics, magic, None)
        parser = getattr(method, "parser", None)
        if parser is None:
            return []
        return sorted(o for o in parser._option_string_actions if o.startswith("--"))

    def takes_names(self, magic: str) -> int:
        """How many secret names ``magic`` takes (-1: any number), from its parser."""
        parser = getattr(getattr(self.magics, magic, None), "parser", None)
        names = [
            a
            for a in getattr(parser, "_actions", [])
            if not a.option_strings and a.metavar == "NAME"
        ]
        return -1 if any(a.nargs in ("+", "*") for a in names) else len(names)

    def secret_ids(self, universe: int | None) -> list[str]:
        """Names from the last listing of ``universe`` (default: the configured one)."""
        known: dict[int, set[str]] = self.magics.known_ids
        universe = universe if universe is not None else self.magics.default_universe()
        if universe is None:
            return sorted(set().union(*known.values())) if known else []
        return sorted(known.get(universe, ()))

    def _environments(self) -> list[str]:
        """Environment names of the magics' manifest; none when it is missing or broken."""
        names = getattr(self.magics, "environment_names", None)
        return list(names()) if callable(names) else []

    def complete(self, text_until_cursor: str) -> list[str]:
        """Return the candidates for the word under the cursor (unfiltered by prefix)."""
        words, current = _split(text_until_cursor)
        if not words:
            return []
        magic = words[0].lstrip("%")
        previous = words[-1] if len(words) > 1 else ""
        options = self.option_strings(magic)
        kind = kind_of(previous)
        if kind in _QUIET_KINDS:
            return []
        if kind is Kind.ENV_VAR:
            return sorted(os.environ)
        if kind is Kind.VARIABLE:
            user_ns = getattr(self.magics.shell, "user_ns", {})
            return sorted(
                name
                for name, value in user_ns.items()
                if isinstance(value, str) and not name.startswith("_")
            )
        if kind is Kind.UNIVERSE:
            return sorted(str(u) for u in self.magics.known_ids) + self._environments()
        if kind is Kind.ENVIRONMENT:
            return self._environments()
        if current.startswith("-"):
            return options
        wanted = self.takes_names(magic)
        already = _positionals(words)
        if wanted == 0 or (wanted == 1 and already):
            return options
        ids = [i for i in self.secret_ids(_universe_on_line(words)) if i not in already]
        return ids or options

    def __call__(self, context: CompletionContext) -> dict[str, Any]:
        """Answer IPython for a line of one of our magics; stay silent on any other line."""
        from IPython.core.completer import SimpleCompletion

        text = context.line_with_cursor[: context.cursor_position]
        first = text.split(None, 1)[0] if text.strip() else ""
        # Ours are the line magics of the magics instance (the class declares each once).
        ours = getattr(self.magics, "magics", {}).get("line", {})
        candidates = self.complete(text) if first.lstrip("%") in ours else []
        token = context.token
        matches = [c for c in candidates if c.startswith(token)] or [
            c for c in candidates if c.lower().startswith(token.lower())
        ]
        # With matches, nothing else may answer (Jedi would add builtins); without, IPython's
        # file matcher completes the paths after --from-file and --env-file.
        return {
            "completions": [SimpleCompletion(m, type="param") for m in matches],
            "suppress": bool(matches),
        }


def register(shell: InteractiveShell, completer: MagicCompleter) -> None:
    """Install ``completer`` in the shell's completer, replacing one left by an earlier load.

    %reload_ext creates a new magics instance; the old matcher would keep answering from a
    stale cache, so it is removed.
    """
    matchers: list[Any] = shell.Completer.custom_matchers
    matchers[:] = [m for m in matchers if not isinstance(m, MagicCompleter)]
    matchers.append(completer)
