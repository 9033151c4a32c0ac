"""The ``env:NAME`` and ``file:PATH`` references: values from this machine, as today's options.

``env:NAME`` reads an environment variable (as ``--from-env`` does); ``file:PATH`` reads a
regular file, at most one value's worth, without its final newline (as ``--from-file`` does).
Relative paths start at the manifest's folder (or the working directory).
"""

from __future__ import annotations

from ..errors import ValueReferenceError, ValueSourceError
from ..values import MAX_VALUE_FILE_BYTES, _read_regular_file
from .context import ResolutionContext
from .reference import Reference

__all__ = ["resolve_env", "resolve_file"]


def resolve_env(reference: Reference, context: ResolutionContext) -> str:
    """The environment variable ``reference.body`` names.

    Raises
    ------
    ValueReferenceError
        It is not set (or empty).
    """
    value = context.environ.get(reference.body)
    if value is None:
        raise ValueReferenceError(
            reference.text,
            f"the environment variable {reference.body} is not set in this process; export it "
            "first (or use another source)",
            scheme="env",
        )
    return value


def resolve_file(reference: Reference, context: ResolutionContext) -> str:
    """The content of the file ``reference.body`` names, without one final newline.

    Raises
    ------
    ValueReferenceError
        The file is missing, not a regular file, unreadable, not UTF-8 or over one value.
    """
    path = context.path(reference.body)
    problem = None
    data = None
    try:
        data = _read_regular_file(str(path), "the reference", MAX_VALUE_FILE_BYTES)
    except ValueSourceError as exc:
        problem = str(exc)
    if data is None:
        problem = problem or "the file is longer than any valid value (1,024 characters)"
        raise ValueReferenceError(reference.text, problem, scheme="file")
    try:
        # utf-8-sig: a byte order mark that some Windows tools write is not part of the value.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problem = "the file is not UTF-8 text"
    if problem is not None:
        raise ValueReferenceError(reference.text, problem, scheme="file")
    return text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text
