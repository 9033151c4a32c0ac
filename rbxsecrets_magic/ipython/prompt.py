"""The magics' masked prompt for a value or key, and their ``read_value``.

``getpass.getpass`` is looked up at call time: ipykernel replaces it on every execution with a
version that sends a password request to the frontend. A frontend without stdin raises IPython's
``StdinNotImplementedError``; the message then names the options to use instead. The prompt is
refused, before anything is read, when it could not hide the input (no controlling terminal:
``docker exec -i``, ``ssh`` without ``-t``).
"""

from __future__ import annotations

import getpass
import io
import os
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import ValueSourceError
from ..values import SecretValue
from ..values import read_value as read_source

__all__ = ["check_masked_prompt", "prompt_secret", "read_value"]

# The options that can replace the masked prompt of %rbx_secret_set.
_SOURCES = ("--from-env VAR", "--from-file PATH", "--from-var NAME")


def _headless_hint(what: str, sources: tuple[str, ...]) -> str:
    """What to do when a masked prompt is impossible: names every alternative in ``sources``."""
    listed = f"{', '.join(sources[:-1])} or {sources[-1]}" if len(sources) > 1 else sources[0]
    return f"pass the {what} with {listed} instead"


def prompt_secret(
    prompt: str,
    *,
    confirm: bool = False,
    what: str = "value",
    sources: tuple[str, ...] = _SOURCES,
) -> SecretValue:
    """Ask for a value in a masked prompt (twice if ``confirm``).

    ``getpass.getpass`` is looked up at call time: ipykernel replaces it on every execution
    with a version that sends a password request to the frontend. ``what`` names the thing
    asked for in messages, and ``sources`` are the options offered when there is no prompt.

    Raises
    ------
    ValueSourceError
        The frontend has no stdin (nbclient, papermill), the user cancelled, the value is
        empty, or the two entries differ.
    """
    from IPython.core.error import StdinNotImplementedError

    check_masked_prompt(what=what, sources=sources)
    try:
        first = getpass.getpass(prompt)
        second = getpass.getpass("Repeat the value: ") if confirm else first
    except StdinNotImplementedError:
        raise ValueSourceError(
            "this frontend cannot show a masked prompt (headless kernel?): "
            f"{_headless_hint(what, sources)}"
        ) from None
    except (KeyboardInterrupt, EOFError):
        if _terminal_getpass():
            # The terminal's getpass ends its line only on success: the message would
            # otherwise start right after the prompt.
            _end_prompt_line()
        raise ValueSourceError("cancelled at the prompt; nothing was changed") from None
    if first != second:
        raise ValueSourceError("the two entries differ; nothing was changed, try again")
    if not first:
        raise ValueSourceError(f"the {what} is empty; nothing was changed")
    return SecretValue(first)


def _terminal_getpass() -> bool:
    # ipykernel puts its own getpass (a frontend prompt) in place on every execution; tests
    # put theirs. Only the standard library's talks to a terminal.
    current = getpass.getpass
    return any(
        current is getattr(getpass, name, None)
        for name in ("unix_getpass", "win_getpass", "fallback_getpass")
    )


def _can_hide_input() -> bool:
    """Whether the standard library's getpass can turn echo off, tested the way it does."""
    if getpass.getpass is getattr(getpass, "fallback_getpass", None):
        return False
    if os.name == "nt":
        return sys.stdin is sys.__stdin__
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        pass
    else:
        os.close(fd)
        return True
    try:
        import termios

        termios.tcgetattr(sys.stdin.fileno())
    except (ImportError, OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    except Exception:  # termios.error is not an OSError
        return False
    return True


def _end_prompt_line() -> None:
    try:
        with open("/dev/tty", "w") as tty:
            tty.write("\n")
    except OSError:
        sys.stderr.write("\n")
        sys.stderr.flush()


def check_masked_prompt(*, what: str = "value", sources: tuple[str, ...] = _SOURCES) -> None:
    """Refuse, before anything is read, a masked prompt that could not hide the input.

    Without a controlling terminal (``docker exec -i``, ``ssh`` without ``-t``,
    ``cat | setsid ipython``) the standard library's getpass warns, shows what is typed and
    reads the next line of input as the value. A frontend's own prompt (ipykernel's) is safe
    and passes.

    Raises
    ------
    ValueSourceError
        Naming the ``sources`` to use instead.
    """
    if _terminal_getpass() and not _can_hide_input():
        raise ValueSourceError(
            f"no terminal to hide the {what} as it is typed (no controlling terminal: "
            "docker exec without -t, ssh without -t?); nothing was read: "
            f"{_headless_hint(what, sources)}"
        )


def read_value(
    *,
    prompt: str,
    from_env: str | None = None,
    from_file: str | None = None,
    from_var: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    confirm: bool = False,
    what: str = "value",
    sources: tuple[str, ...] = _SOURCES,
) -> SecretValue:
    """One value from the single source given, else from the masked prompt (``prompt``).

    ``confirm`` asks twice; ``what`` and ``sources`` word the prompt's messages.
    """
    return read_source(
        from_env=from_env,
        from_file=from_file,
        from_var=from_var,
        namespace=namespace,
        environ=environ,
        ask=lambda: prompt_secret(prompt, confirm=confirm, what=what, sources=sources),
    )
