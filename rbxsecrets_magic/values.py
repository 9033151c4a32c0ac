"""Where a secret's value comes from: a masked prompt, an env var, a file, a variable, a .env file.

The magics never take a value on the command line, because a command line lands in ``In``, the
history database and, in Jupyter, the notebook. :func:`read_value` reads it from exactly one
source instead and returns a :class:`SecretValue`, whose ``repr`` shows only its length.

Errors are :class:`~rbxsecrets_magic.errors.ValueSourceError`. Their messages never repeat what
the user typed (a variable name or a path might be a value typed in the wrong place), let alone
the value.
"""

from __future__ import annotations

import getpass
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, ValueSourceError
from .validation import validate_secret_id, validate_value

__all__ = ["SecretValue", "prompt_secret", "read_env_file", "read_value"]

# The options that can replace the masked prompt of %rbx_secret_set.
_SOURCES = ("--from-env VAR", "--from-file PATH", "--from-var NAME")


def _headless_hint(what: str, sources: tuple[str, ...]) -> str:
    """What to do when a masked prompt is impossible: names every alternative in ``sources``."""
    listed = f"{', '.join(sources[:-1])} or {sources[-1]}" if len(sources) > 1 else sources[0]
    return f"pass the {what} with {listed} instead"


class SecretValue:
    """A secret string that does not show itself.

    ``repr``, ``str`` and tracebacks that print locals show ``<secret: N characters>``; call
    :meth:`reveal` at the one place the plaintext is needed.

    Examples
    --------
    >>> v = SecretValue("hunter2")
    >>> v
    <secret: 7 characters>
    >>> len(v), v.reveal()
    (7, 'hunter2')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the plaintext."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"<secret: {len(self._value)} characters>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            return self._value == other._value
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        # Pickling (e.g. by %store) would write the plaintext to disk.
        raise TypeError("a SecretValue cannot be pickled")


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

    try:
        first = getpass.getpass(prompt)
        second = getpass.getpass("Repeat the value: ") if confirm else first
    except StdinNotImplementedError:
        raise ValueSourceError(
            "this frontend cannot show a masked prompt (headless kernel?): "
            f"{_headless_hint(what, sources)}"
        ) from None
    except (KeyboardInterrupt, EOFError):
        raise ValueSourceError("cancelled at the prompt; nothing was changed") from None
    if first != second:
        raise ValueSourceError("the two entries differ; nothing was changed, try again")
    if not first:
        raise ValueSourceError(f"the {what} is empty; nothing was changed")
    return SecretValue(first)


def _from_env(var: str, environ: Mapping[str, str]) -> SecretValue:
    value = environ.get(var)
    if value is None:
        raise ValueSourceError(
            "the environment variable given to --from-env is not set in this process "
            "(export it before starting IPython/Jupyter, or use another source)",
            typed=var,
        )
    if not value:
        raise ValueSourceError("the environment variable given to --from-env is empty")
    return SecretValue(value)


def _strip_one_newline(text: str) -> str:
    # Editors add a final newline that nobody means to be part of a token.
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _from_file(path: str) -> SecretValue:
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ValueSourceError(
            "the file given to --from-file does not exist", typed=path
        ) from None
    except IsADirectoryError:
        raise ValueSourceError("the path given to --from-file is a directory, not a file") from None
    except OSError as exc:
        raise ValueSourceError(
            f"the file given to --from-file cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    try:
        # utf-8-sig: a byte order mark that some Windows tools write is not part of the value.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueSourceError("the file given to --from-file is not UTF-8 text") from None
    value = _strip_one_newline(text)
    if not value:
        raise ValueSourceError("the file given to --from-file is empty")
    return SecretValue(value)


def _from_var(name: str, namespace: Mapping[str, Any]) -> SecretValue:
    if name not in namespace:
        raise ValueSourceError(
            "the variable given to --from-var is not defined in this session "
            "(give the name of a variable, not the value)",
            typed=name,
        )
    value = namespace[name]
    if isinstance(value, SecretValue):
        value = value.reveal()
    elif isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueSourceError(
                "the variable given to --from-var holds bytes that are not UTF-8"
            ) from None
    if not isinstance(value, str):
        kind = type(value).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise ValueSourceError(
            f"the variable given to --from-var holds {article} {kind}, not a str"
        )
    if not value:
        raise ValueSourceError("the variable given to --from-var is an empty string")
    return SecretValue(value)


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
    """Read one value from the single source given, or from a masked prompt if none is.

    Parameters
    ----------
    prompt
        Text of the masked prompt, used only when no other source is given.
    from_env, from_file, from_var
        Name of an environment variable, path of a file (one trailing newline is dropped),
        or name of a variable in ``namespace``. At most one may be given.
    namespace
        Where ``from_var`` is looked up (the shell's user namespace).
    environ
        Where ``from_env`` is looked up; ``os.environ`` by default.
    confirm
        Ask twice at the prompt and require both entries to match.
    what, sources
        For the prompt's messages: what is asked for (``"value"``, ``"key"``) and the
        options to name when no prompt can be shown.

    Raises
    ------
    ValueSourceError
        The source is missing, empty, unreadable or ambiguous, or the prompt is impossible.
    """
    given = [opt for opt, arg in (("--from-env", from_env), ("--from-file", from_file),
                                  ("--from-var", from_var)) if arg is not None]
    if len(given) > 1:
        raise ValueSourceError(f"give only one of {', '.join(given)}")
    if from_env is not None:
        return _from_env(from_env, os.environ if environ is None else environ)
    if from_file is not None:
        return _from_file(from_file)
    if from_var is not None:
        return _from_var(from_var, namespace or {})
    return prompt_secret(prompt, confirm=confirm, what=what, sources=sources)


def read_env_file(path: str) -> dict[str, str]:
    """Read every ``KEY=value`` entry of a .env file, checked, or refuse the whole file.

    python-dotenv's rules apply (comments, quotes, ``export``, ``${VAR}``), but a line it
    cannot parse is a problem here, not a silent skip: that secret would never be set.
    Problems are named by line number only, since a broken line may be a pasted value.

    Raises
    ------
    ValueSourceError
        The file is missing or unreadable, has no entries, or any entry has a bad name or value.
    """
    # Imported here: loading the extension must not import python-dotenv.
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueSourceError("the file given to --env-file does not exist or is not a file")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise ValueSourceError(
            "the file given to --env-file cannot be read as UTF-8 text"
        ) from None
    bindings = list(parse_stream(io.StringIO(text)))
    if not any(b.key is not None or b.error for b in bindings):
        raise ValueSourceError("the file given to --env-file has no KEY=value entries")
    problems: list[str] = []
    names: set[str] = set()
    for binding in bindings:
        number = binding.original.line
        if binding.error:
            # python-dotenv skips such a line with only a log warning; that secret
            # would silently not be set.
            problems.append(f"line {number} cannot be parsed (an unclosed quote?)")
        elif binding.key is None:
            continue  # a comment or a blank line
        elif binding.value is None:
            problems.append(f"line {number} has no '='")
        else:
            try:
                names.add(validate_secret_id(binding.key))
            except InvalidInputError:
                problems.append(f"line {number} is not a valid secret name")
    # dotenv_values adds ${VAR} interpolation; given the parsed lines only, it has
    # nothing left to warn about.
    parsed = "".join(b.original.string for b in bindings if not b.error)
    values: dict[str, str] = {}
    for name, value in dotenv_values(stream=io.StringIO(parsed)).items():
        if name not in names or value is None:
            continue
        try:
            values[name] = validate_value(value)
        except InvalidInputError as exc:
            problems.append(f"{name}: {str(exc).removeprefix('Invalid value: ')}")
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise ValueSourceError(f"nothing was set, the .env file has {len(problems)} "
                               f"problem(s): {shown}")
    return values
