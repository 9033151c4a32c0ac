"""Where a secret's value comes from: a masked prompt, an env var, a file, a variable, a .env file.

The magics never take a value on the command line, because a command line lands in ``In``, the
history database and, in Jupyter, the notebook. :func:`read_value` reads it from exactly one
source instead and returns a :class:`SecretValue`, whose ``repr`` shows only its length.

Errors are :class:`~rbxsecrets_magic.errors.ValueSourceError`. Their messages never repeat what
the user typed (a variable name or a path might be a value typed in the wrong place), let alone
the value; the one exception is an environment variable's name that has the shape of one
(``NOPE_VAR``), which a value practically never has.

Every read is bounded. A file is refused unless it is a regular file (a FIFO would block, a
device never ends), and at most :data:`MAX_VALUE_FILE_BYTES` plus one byte of it is read. A .env
file is refused above :data:`MAX_ENV_FILE_BYTES` or :data:`MAX_ENV_FILE_ENTRIES` entries, and is
read without ``${VAR}`` interpolation (an untrusted file could otherwise pull in the API key).
The masked prompt is each front end's (:mod:`rbxsecrets_magic.ipython.prompt` for the magics),
passed in as ``ask``: this module imports no IPython.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, ValueSourceError
from .opencloud.validation import MAX_VALUE_CHARS, validate_secret_id, validate_value

__all__ = [
    "MAX_ENV_FILE_BYTES",
    "MAX_ENV_FILE_ENTRIES",
    "MAX_VALUE_FILE_BYTES",
    "SecretValue",
    "is_env_var_name",
    "read_env_file",
    "read_value",
]

# The most a file holding one valid value takes: 1,024 characters of 4 UTF-8 bytes each, a
# byte order mark and a final CRLF. One byte more is read to tell "too long".
MAX_VALUE_FILE_BYTES = MAX_VALUE_CHARS * 4 + 3 + 2
# A universe holds at most 500 secrets, so a .env file with more entries cannot be set.
MAX_ENV_FILE_ENTRIES = 500
# The longest entry: 'export ' (7), a 64-character name, '=', a double-quoted value of 1,024
# four-byte characters (4,096 bytes; escaping doubles only ASCII, 2,048 at most), CRLF: 4,172
# bytes. 500 of them take 2,086,000 bytes; the cap is twice that, rounded up to 4 MiB, so
# comments and blank lines fit. A file over it cannot be a valid file of this tool.
MAX_ENV_FILE_BYTES = 4 << 20
# The shape of an environment variable's name, as shells write them (a value rarely has it).
_ENV_VAR_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")


def is_env_var_name(text: str) -> bool:
    """Whether ``text`` has the shape of an environment variable's name (``API_TOKEN``).

    Such a word may be named in messages and kept in the history: a secret value made only of
    upper-case letters, digits and underscores is rare, and naming the variable is what the
    user needs to fix a typo.
    """
    return _ENV_VAR_NAME.fullmatch(text) is not None


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


def _from_env(var: str, environ: Mapping[str, str]) -> SecretValue:
    value = environ.get(var)
    if value is None:
        named = f" {var}" if is_env_var_name(var) else ""
        raise ValueSourceError(
            f"the environment variable{named} given to --from-env is not set in this process; "
            "export it before starting IPython/Jupyter (not with %env NAME=value, which keeps "
            "the value in the history), or use another source",
            typed=None if named else var,
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


def _read_regular_file(path: str, option: str, limit: int) -> bytes | None:
    """The regular file at ``path`` if it holds at most ``limit`` bytes, else None.

    Anything but a regular file is refused. Nothing is read of a file whose size is over the
    limit, and at most ``limit + 1`` bytes of one that grows or lies about its size.

    The kind of file is checked before opening (a FIFO's open would block), and again on the
    open descriptor, opened non-blocking, in case the path was swapped in between.
    """
    file = Path(path).expanduser()
    try:
        kind = file.stat().st_mode
    except FileNotFoundError:
        raise ValueSourceError(f"the file given to {option} does not exist", typed=path) from None
    except OSError as exc:
        raise ValueSourceError(
            f"the file given to {option} cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    if stat.S_ISDIR(kind):
        raise ValueSourceError(f"the path given to {option} is a directory, not a file")
    not_regular = ValueSourceError(
        f"the path given to {option} is not a regular file (a FIFO, a device or a socket "
        "would block or never end); copy the content to a file first"
    )
    if not stat.S_ISREG(kind):
        raise not_regular
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ValueSourceError(
            f"the file given to {option} cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise not_regular
        if status.st_size > limit:
            return None
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ValueSourceError(
            f"the file given to {option} cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data if len(data) <= limit else None


def _from_file(path: str) -> SecretValue:
    data = _read_regular_file(path, "--from-file", MAX_VALUE_FILE_BYTES)
    if data is None:
        raise ValueSourceError(
            "the file given to --from-file is longer than any valid value (1,024 characters); "
            "nothing was read past that"
        )
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
    from_env: str | None = None,
    from_file: str | None = None,
    from_var: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    ask: Callable[[], SecretValue] | None = None,
) -> SecretValue:
    """Read one value from the single source given, or from ``ask`` if none is.

    Parameters
    ----------
    from_env, from_file, from_var
        Name of an environment variable, path of a file (one trailing newline is dropped),
        or name of a variable in ``namespace``. At most one may be given.
    namespace
        Where ``from_var`` is looked up (the shell's user namespace).
    environ
        Where ``from_env`` is looked up; ``os.environ`` by default.
    ask
        Reads the value when no source is given: each front end's masked prompt
        (:func:`rbxsecrets_magic.ipython.prompt.prompt_secret` in the magics).

    Raises
    ------
    ValueSourceError
        The source is missing, empty, unreadable or ambiguous, or none is given and nothing
        can ask.
    """
    given = [
        opt
        for opt, arg in (
            ("--from-env", from_env),
            ("--from-file", from_file),
            ("--from-var", from_var),
        )
        if arg is not None
    ]
    if len(given) > 1:
        raise ValueSourceError(f"give only one of {', '.join(given)}")
    if from_env is not None:
        return _from_env(from_env, os.environ if environ is None else environ)
    if from_file is not None:
        return _from_file(from_file)
    if from_var is not None:
        return _from_var(from_var, namespace or {})
    if ask is None:
        raise ValueSourceError("no value given, and nothing here can ask for one")
    return ask()


def _take_entry(
    number: int,
    key: str,
    value: str | None,
    values: dict[str, str],
    invalid: dict[str, str] | None,
    problems: list[str],
) -> None:
    """Check one ``KEY=value`` entry of a .env file into ``values``, or say its problem."""
    if value is None:
        problems.append(f"line {number} has no '='")
        return
    try:
        name = validate_secret_id(key)
    except InvalidInputError:
        problems.append(f"line {number} is not a valid secret name")
        return
    try:
        # As python-dotenv does, a name given twice takes its last value.
        values[name] = validate_value(value)
        if invalid is not None:
            invalid.pop(name, None)
    except InvalidInputError as exc:
        reason = str(exc).removeprefix("Invalid value: ")
        if invalid is None:
            problems.append(f"{name}: {reason}")
        else:
            values.pop(name, None)
            invalid[name] = reason.rstrip(".")


def read_env_file(path: str, *, invalid: dict[str, str] | None = None) -> dict[str, str]:
    """Read every ``KEY=value`` entry of a .env file, checked, or refuse the whole file.

    python-dotenv's rules apply (comments, quotes, ``export``), but ``${VAR}`` stays as
    written: expanding it would let an untrusted file upload the kernel's environment (the API
    key). A line python-dotenv cannot parse is a problem here, not a silent skip: that secret
    would never be set. Problems are named by line number only, since a broken line may be a
    pasted value. The file must be a regular file of at most :data:`MAX_ENV_FILE_BYTES` with
    at most :data:`MAX_ENV_FILE_ENTRIES` entries; it is read in linear time.

    With ``invalid`` (a plan, where a bad value fails only its own secret), an entry whose
    value breaks Roblox's rules is left out and ``invalid[name]`` says why, never quoting it.

    Raises
    ------
    ValueSourceError
        The file is missing, unreadable, not a regular file or too large, has no entries or
        too many, or any entry has a bad name (or, without ``invalid``, a bad value).
    """
    # Imported here: loading the extension must not import python-dotenv.
    from dotenv.parser import parse_stream

    data = _read_regular_file(path, "--env-file", MAX_ENV_FILE_BYTES)
    if data is None:
        raise ValueSourceError(
            f"the file given to --env-file is larger than {MAX_ENV_FILE_BYTES >> 20} MiB, more "
            f"than {MAX_ENV_FILE_ENTRIES} entries of the longest valid form take; nothing was set"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueSourceError(
            "the file given to --env-file cannot be read as UTF-8 text"
        ) from None
    del data
    problems: list[str] = []
    values: dict[str, str] = {}
    entries = 0
    # parse_stream is linear and yields as it goes, so a file with too many entries is
    # refused at entry 501. dotenv_values() is not used: its ${VAR} interpolation reads the
    # kernel's environment (an untrusted file could upload the API key) and is quadratic.
    for binding in parse_stream(io.StringIO(text)):
        number = binding.original.line
        if binding.error:
            # python-dotenv skips such a line with only a log warning; that secret
            # would silently not be set.
            problems.append(f"line {number} cannot be parsed (an unclosed quote?)")
            continue
        if binding.key is None:
            continue  # a comment or a blank line
        entries += 1
        if entries > MAX_ENV_FILE_ENTRIES:
            raise ValueSourceError(
                f"the file given to --env-file has more than {MAX_ENV_FILE_ENTRIES} entries, "
                "more than a universe can hold; nothing was set"
            )
        _take_entry(number, binding.key, binding.value, values, invalid, problems)
    if not entries and not problems:
        raise ValueSourceError("the file given to --env-file has no KEY=value entries")
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise ValueSourceError(
            f"nothing was set, the .env file has {len(problems)} problem(s): {shown}"
        )
    return values
