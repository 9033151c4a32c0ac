"""What a value reference is, and telling one from a value typed in its place.

A reference is ``scheme:body``: ``env:STRIPE_KEY``, ``sops:secrets.enc.env#STRIPE_KEY``,
``aws-sm:prod/stripe#key``. The scheme follows RFC 3986 (a letter, then letters, digits, ``+``,
``-`` or ``.``) and is matched without regard to case. Text that does not have this shape is
refused by :func:`parse_reference` without being repeated: where a reference was expected, a
value may have been pasted by mistake. Imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import NotAReferenceError

__all__ = ["MAX_REFERENCE_CHARS", "Reference", "parse_reference"]

#: The longest reference accepted; a path and a key fit easily, and longer text is no reference.
MAX_REFERENCE_CHARS = 2048
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}")
_EXAMPLE = "like sops:secrets.enc.env#STRIPE_KEY, aws-sm:prod/stripe#key or env:STRIPE_KEY"


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed value reference: where a value is, never the value.

    Attributes
    ----------
    text:
        The reference as written (shown in messages: it names a place, not a value).
    scheme:
        The scheme, lower case (``sops``).
    body:
        Everything after the first ``:`` (``secrets.enc.env#STRIPE_KEY``).
    """

    text: str
    scheme: str
    body: str

    def __str__(self) -> str:
        """The reference as written."""
        return self.text


def parse_reference(text: object) -> Reference:
    """Split ``text`` into scheme and body, or refuse it without repeating it.

    Whether a resolver exists for the scheme is not checked here
    (:meth:`~rbxsecrets_magic.value_sources.ResolutionContext.resolve` does).

    Raises
    ------
    NotAReferenceError
        The text is not ``scheme:body`` on one line (it may be a value, so it is not shown).
    """
    if not isinstance(text, str):
        raise NotAReferenceError(
            f"a value reference must be a string, not {type(text).__name__}; write one {_EXAMPLE}"
        )
    why = _not_a_reference(text)
    if why:
        raise NotAReferenceError(
            f"the text given is not a value reference ({why}); write one {_EXAMPLE}; it is not "
            "repeated here in case it is a value"
        )
    scheme, _, body = text.partition(":")
    return Reference(text, scheme.lower(), body)


def _not_a_reference(text: str) -> str:
    """Why ``text`` is no reference, in a few words that do not quote it; "" if it is one."""
    if not text.strip():
        return "it is empty"
    if len(text) > MAX_REFERENCE_CHARS:
        return f"it is over {MAX_REFERENCE_CHARS:,} characters"
    if text != text.strip() or any(ch.isspace() and ch != " " for ch in text):
        return "it has leading or trailing spaces, tabs or line breaks"
    if any(not ch.isprintable() for ch in text):
        return "it has control characters"
    scheme, colon, body = text.partition(":")
    if not colon:
        return "it has no scheme: before it"
    if _SCHEME.fullmatch(scheme) is None:
        return "what comes before the first ':' is not a scheme name"
    if not body:
        return "nothing follows the scheme"
    return ""
