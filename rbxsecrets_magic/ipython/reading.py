"""Reading a magic's line safely, running its body, and turning failures into one line.

Mixed into :class:`~rbxsecrets_magic.ipython.magics.RbxSecretsMagics`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import RbxSecretsError, ValueSourceError
from ..opencloud.validation import validate_domain, validate_secret_id, validate_universe_id
from .wording import (
    _SOURCE_OPTIONS,
    _explain,
    _fail,
    _passes,
    _path_like,
    _plain_url,
)

if TYPE_CHECKING:
    from types import TracebackType

    from IPython.core.interactiveshell import InteractiveShell

    from ..values import SecretValue
    from .magic_line import LineReading, LineSpec


class ReadingMixin:
    """The line reader and the failure boundary of every magic."""

    # Set by RbxSecretsMagics (the shell) and SessionMixin (the manifest's environments).
    shell: InteractiveShell | None
    environment_names: Callable[[], list[str]]
    _keys: dict[int | None, SecretValue]
    #: The values and keys the user gave in the current magic (see :meth:`_user_secrets`).
    _given: list[str]

    def _user_secrets(self) -> list[str]:
        """What the user gave that no frame may keep: this magic's values, the session keys."""
        return [*self._given, *(key.reveal() for key in self._keys.values())]

    def _run(self, method: Any, line: str, body: Callable[[argparse.Namespace], Any]) -> Any:
        """Read ``line`` for ``method``, run ``body`` with the arguments, and report failures.

        Known errors become one plain ``UsageError``, raised here, outside any ``except``: so it
        has no ``__context__`` leading back to the frames that held a value, and those frames
        (``body``'s and below) are emptied of their locals. A refused line that may hold a
        value is replaced in the history by its safe form (see :meth:`_refused`).
        """
        from .magic_line import read_line

        magic = method.__name__
        reading: LineReading | None = None
        message = ""
        self._given = []
        try:
            reading = read_line(line, self._line_spec(method))
            return body(self._arguments(method, reading))
        except UsageError as exc:
            message = str(exc).removeprefix(f"%{magic}: ")
            _scrub(exc)
        except ValueSourceError as exc:
            message = str(exc)
            if exc.typed is not None and _path_like(exc.typed):
                message += f": {exc.typed}"  # a path, not a value: named
            _scrub(exc)
        except RbxSecretsError as exc:
            message = _explain(exc, magic)
            _scrub(exc)
        except KeyboardInterrupt as exc:
            # A traceback here would show, under %xmode Verbose, the client's locals: the
            # plaintext among them. Ctrl-C is the user's choice, not a bug, so one line.
            message = (
                "interrupted; a change already sent may have been made: check with "
                "%rbx_secret_list, or run the same command again"
            )
            _scrub(exc)
        except Exception as exc:
            # A real bug keeps its traceback and, for %debug, the locals of its frames; only
            # the frames that hold a value or key the user gave are emptied: under %xmode
            # Verbose they would print it.
            _scrub(exc, self._user_secrets(), keep=self)
            raise
        finally:
            # The values given live on only in the frames that hold them until scrubbed.
            self._given = []
        raise self._refused(magic, line, reading, message)

    def _refused(
        self, magic: str, line: str, reading: LineReading | None, message: str
    ) -> UsageError:
        """The UsageError for ``message``; first, a line that may hold a value leaves history."""
        if reading is None or not reading.masked:
            return _fail(magic, message)
        from .redact import redact_magic_line

        words = [w.raw for w in reading.masked] + [w.text for w in reading.masked if w.text]
        done = redact_magic_line(self.shell, magic, line, reading.safe_line, words)
        note = "Words that may be a value are not repeated here"
        if not done.history:
            note += "."
        elif done.log is False:
            note += (
                f" and were removed from this session's history, but not from the %logstart "
                f"log {done.log_file}: remove them there."
            )
        elif done.log:
            note += " and were removed from this session's history and its %logstart log."
        else:
            note += " and were removed from this session's history."
        text = " ".join(message.split())
        text = text if text.endswith((".", "?")) else text + "."
        return _fail(magic, f"{text} {note}")

    def _line_spec(self, method: Any) -> LineSpec:
        """What ``method``'s line may hold, and when each argument is certainly not a value."""
        from ..values import is_env_var_name
        from .magic_line import LineSpec, OptionSpec
        from .options import Kind, kind_of, positionals

        parser: argparse.ArgumentParser = method.parser
        namespace = self.shell.user_ns if self.shell is not None else {}

        def environments(text: str) -> bool:
            names = [t.strip() for t in text.split(",")]
            known = self.environment_names() if any(not n.isdigit() for n in names) else []
            return all(n in known for n in names)

        def universes(text: str) -> bool:
            names = [t.strip() for t in text.split(",")]
            known = self.environment_names() if any(not n.isdigit() for n in names) else []
            return all(n in known or _passes(validate_universe_id, n) for n in names)

        # One check per kind of argument (ipython/options.py declares each option's kind).
        safe: dict[Kind | None, Callable[[str], bool]] = {
            Kind.UNIVERSE: universes,
            Kind.ENVIRONMENT: environments,
            Kind.DOMAIN: lambda t: _passes(validate_domain, t),
            Kind.ENV_VAR: lambda t: t in os.environ or is_env_var_name(t),
            Kind.VARIABLE: lambda t: t.isidentifier() and t in namespace,
            Kind.PATH: _path_like,
            # A pattern of secret ids: the characters of an id and glob's own.
            Kind.GLOB: lambda t: _GLOB_OF_IDS.fullmatch(t) is not None,
            Kind.PLACES: lambda t: re.fullmatch(r"[0-9]{1,19}(,[0-9]{1,19})*", t) is not None,
            Kind.MINUTES: lambda t: re.fullmatch(r"[0-9]{1,3}", t) is not None,
            Kind.SECONDS: lambda t: re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,3})?", t) is not None,
            Kind.REFERENCE: _is_reference,
        }

        def never(_text: str) -> bool:
            return False

        options = {
            name: OptionSpec(action.nargs != 0, safe.get(kind_of(name), never))
            for name, action in parser._option_string_actions.items()
            if name.startswith("--")
        }
        count, required = positionals(parser)
        urls = any(action.metavar == "URL" for action in parser._actions)
        return LineSpec(
            options,
            count,
            required,
            lambda t: _passes(validate_secret_id, t) or (urls and _plain_url(t)),
        )

    def _arguments(self, method: Any, reading: LineReading) -> argparse.Namespace:
        """The parsed arguments, or a UsageError in our words (argparse's may quote a value)."""
        magic = method.__name__
        if reading.problems:
            problems = "; ".join(reading.problems)
            if any(p.startswith("unexpected word") for p in reading.problems):
                offered = [o for o in _SOURCE_OPTIONS if o in method.parser._option_string_actions]
                what = "keys" if magic == "rbx_secret_login" else "values"
                if offered:
                    problems += (
                        f"; {what} are never typed on the line: they come from the "
                        f"masked prompt, {', '.join(offered[:-1])} or {offered[-1]}"
                    )
            raise _fail(magic, f"{problems}; see %{magic}?")
        try:
            args: argparse.Namespace = method.parser.parse_args(reading.argv)
        except UsageError:
            raise _fail(magic, f"the line cannot be read; see %{magic}?") from None
        return args


# What --protect takes: a glob over secret ids.
_GLOB_OF_IDS = re.compile(r"[A-Za-z0-9_*?\[\]!-]{1,128}")


def _scrub(
    exc: BaseException, secrets: Sequence[str] | None = None, *, keep: object = None
) -> None:
    """Empty the finished frames of ``exc`` and of every exception chained to it.

    They may hold the plaintext (the magic's body, the client's send); %debug, %xmode Verbose
    and ``sys.last_value.__context__`` would reach it. With ``secrets`` (a real bug), only the
    frames whose locals hold one of them, or a :class:`~rbxsecrets_magic.values.SecretValue`,
    are emptied; the others keep their locals for %debug. ``keep`` (the magics instance, which
    the shell reaches anyway) is not searched.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if secrets is None:
            traceback.clear_frames(current.__traceback__)
        else:
            _clear_frames_holding(current.__traceback__, secrets, keep)
        pending += [current.__context__, current.__cause__]
        pending += list(getattr(current, "exceptions", ()))


def _clear_frames_holding(tb: TracebackType | None, secrets: Sequence[str], keep: object) -> None:
    while tb is not None:
        frame = tb.tb_frame
        if any(_holds(value, secrets, keep) for value in frame.f_locals.values()):
            with contextlib.suppress(RuntimeError):  # a frame still running cannot be cleared
                frame.clear()
        tb = tb.tb_next


def _holds(value: object, secrets: Sequence[str], keep: object, depth: int = 0) -> bool:
    """Whether ``value`` is, contains or (a few levels down) refers to one of ``secrets``."""
    from ..values import SecretValue

    if isinstance(value, SecretValue):
        return True
    if isinstance(value, str):
        return any(secret in value for secret in secrets)
    if isinstance(value, (bytes, bytearray)):
        return any(secret.encode() in value for secret in secrets)
    if depth >= 3 or value is keep or not secrets:
        return False
    if isinstance(value, Mapping):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        items = list(getattr(value, "__dict__", {}).values())
    return any(_holds(item, secrets, keep, depth + 1) for item in items)


def _is_reference(text: str) -> bool:
    """Whether ``text`` is a value reference (kept in the history; anything else is not)."""
    from ..errors import NotAReferenceError
    from ..value_sources import parse_reference

    try:
        parse_reference(text)
    except NotAReferenceError:
        return False
    return True
