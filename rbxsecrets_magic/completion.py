"""Tab completion for the ``%rbx_secret_*`` magics.

Registered through IPython's ``complete_command`` hook, so it works in the terminal, in
Jupyter and anywhere else that uses ``ip.Completer``. It completes the options of each magic,
secret names from the last listing (kept up to date by set and delete), environment variable
names after ``--from-env``, string variables after ``--from-var``, and leaves paths after
``--from-file``/``--env-file`` to IPython's own file completion.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

__all__ = ["MAGIC_NAMES", "MagicCompleter", "register"]

MAGIC_NAMES = ("rbx_secret_set", "rbx_secret_delete", "rbx_secret_list", "rbx_secret_login",
               "rbx_secret_logout")
# How many secret names each magic takes as positional arguments (-1: any number).
_TAKES_NAMES = {"rbx_secret_set": 1, "rbx_secret_delete": -1}
# Options whose argument is a path: answer nothing so IPython's file matcher answers.
_PATH_OPTIONS = frozenset({"--from-file", "--env-file"})
# Options whose argument we cannot guess.
_FREE_OPTIONS = frozenset({"--domain"})
# Options that take no argument; every other option consumes the next word.
_FLAG_OPTIONS = frozenset({"--confirm", "--dry-run", "--missing-ok"})


def _split(text_until_cursor: str) -> tuple[list[str], str]:
    """Return the finished words before the cursor and the word being typed."""
    words = text_until_cursor.split()
    if not words or text_until_cursor[-1:].isspace():
        return words, ""
    return words[:-1], words[-1]


def _universe_on_line(words: Iterable[str]) -> int | None:
    previous = ""
    for word in words:
        value = word.partition("=")[2] if word.startswith("--universe=") else (
            word if previous == "--universe" else None)
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
    """Answer ``complete_command`` events for one :class:`RbxSecretsMagics` instance."""

    def __init__(self, magics: Any) -> None:
        self._magics = magics

    def option_strings(self, magic: str) -> list[str]:
        """The long options of ``magic``, from its argparse parser."""
        method = getattr(self._magics, magic, None)
        parser = getattr(method, "parser", None)
        if parser is None:
            return []
        return sorted(o for o in parser._option_string_actions if o.startswith("--"))

    def secret_ids(self, universe: int | None) -> list[str]:
        """Names from the last listing of ``universe`` (default: the configured one)."""
        known: dict[int, set[str]] = self._magics.known_ids
        universe = universe if universe is not None else self._magics.default_universe()
        if universe is None:
            return sorted(set().union(*known.values())) if known else []
        return sorted(known.get(universe, ()))

    def complete(self, text_until_cursor: str) -> list[str]:
        """Return the candidates for the word under the cursor (unfiltered by prefix)."""
        words, current = _split(text_until_cursor)
        if not words:
            return []
        magic = words[0].lstrip("%")
        previous = words[-1] if len(words) > 1 else ""
        options = self.option_strings(magic)
        if previous in _PATH_OPTIONS or previous in _FREE_OPTIONS:
            return []
        if previous == "--from-env":
            return sorted(os.environ)
        if previous == "--from-var":
            user_ns = getattr(self._magics.shell, "user_ns", {})
            return sorted(name for name, value in user_ns.items()
                          if isinstance(value, str) and not name.startswith("_"))
        if previous == "--universe":
            return sorted(str(u) for u in self._magics.known_ids)
        if current.startswith("-"):
            return options
        wanted = _TAKES_NAMES.get(magic, 0)
        already = _positionals(words)
        if wanted == 0 or (wanted == 1 and already):
            return options
        ids = [i for i in self.secret_ids(_universe_on_line(words)) if i not in already]
        return ids or options

    def __call__(self, shell: Any, event: Any) -> list[str]:
        """The hook IPython calls (``set_hook`` binds it to the shell)."""
        return self.complete(event.text_until_cursor)


def register(shell: Any, completer: MagicCompleter, magic_names: Iterable[str]) -> None:
    """Install ``completer`` for each magic, replacing one left by an earlier load."""
    for name in magic_names:
        key = f"%{name}"
        _drop_previous(shell, key)
        shell.set_hook("complete_command", completer, str_key=key)


def _drop_previous(shell: Any, key: str) -> None:
    # %reload_ext creates a new magics instance; the old completer would keep answering
    # from a stale cache, so remove it. StrDispatch has no public removal API.
    dispatcher = getattr(shell, "strdispatchers", {}).get("complete_command")
    chain = getattr(getattr(dispatcher, "strs", {}).get(key), "chain", None)
    if chain is None:
        return
    chain[:] = [(priority, hook) for priority, hook in chain
                if not isinstance(getattr(hook, "__func__", None), MagicCompleter)]
