"""Scrubbing secrets out of text a server sent, in every form a server might echo them.

A server, or a proxy in front of it, may quote what it was sent in an error: the value (the fake
decrypts it), the ciphertext, the API key. It may quote it whole or cut short, across several
lines or with its whitespace collapsed, JSON-escaped (once or twice), URL-encoded, HTML-escaped,
base64- or hex-encoded, in upper or lower case. :func:`scrub` removes every piece of 8 or more
characters of any of those forms, so no such piece reaches a message: matching whole copies only
would miss a copy cut at 200 characters or escaped differently.

Secrets shorter than 8 characters are replaced where they occur whole (from 4 characters up;
replacing every "ab" would mangle the message, and a value that short leaks little).

This module imports only the standard library.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_PIECE", "echoed_forms", "scrub"]

#: What replaces a scrubbed piece.
MASK = "[redacted]"
#: Pieces of a secret this long or longer are scrubbed wherever they occur.
MIN_PIECE = 8
# Shorter secrets are replaced whole, from this length up.
_MIN_WHOLE = 4


def _fold(text: str) -> str:
    """``text`` in lower case, one character for one (so positions still match)."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def _base64_forms(data: bytes) -> Iterator[str]:
    # Inside a larger encoded text the secret may start at any of three byte offsets; the
    # characters after the first quantum then depend on the secret alone.
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + data).decode("ascii")
            yield text[4:] if shift else text


def echoed_forms(secret: str) -> set[str]:
    """Every form of ``secret`` a server might echo: the ones :func:`scrub` looks for."""
    data = secret.encode("utf-8", "surrogatepass")
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        " ".join(secret.split()),
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(escaped)[1:-1],
        repr(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        html.escape(secret),
        data.hex(),
        *_base64_forms(data),
    }
    return {form for form in forms if form}


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every piece of 8+ characters of any form of any of ``secrets`` masked.

    Runs before and after whitespace is collapsed, so a piece that only appears once the
    server's line breaks are gone is caught too; the result has its whitespace collapsed.
    Matching ignores case. A run of masked characters becomes one :data:`MASK`.
    """
    wanted = [s for s in secrets if s]
    if not wanted or not text:
        return " ".join(text.split())
    pieces: set[str] = set()
    whole: set[str] = set()
    for secret in wanted:
        for form in echoed_forms(secret):
            folded = _fold(form)
            if len(folded) >= MIN_PIECE:
                pieces.update(folded[i : i + MIN_PIECE] for i in range(len(folded) - MIN_PIECE + 1))
            elif len(folded) >= _MIN_WHOLE:
                whole.add(folded)
    once = _mask(text, pieces, whole)
    return _mask(" ".join(once.split()), pieces, whole)


def _mask(text: str, pieces: set[str], whole: set[str]) -> str:
    """Mask every occurrence of ``pieces`` (MIN_PIECE long) and ``whole`` in ``text``."""
    folded = _fold(text)
    covered = [False] * len(text)
    for start in range(len(folded) - MIN_PIECE + 1):
        if folded[start : start + MIN_PIECE] in pieces:
            covered[start : start + MIN_PIECE] = [True] * MIN_PIECE
    for word in whole:
        start = folded.find(word)
        while start != -1:
            covered[start : start + len(word)] = [True] * len(word)
            start = folded.find(word, start + 1)
    if not any(covered):
        return text
    out: list[str] = []
    for index, ch in enumerate(text):
        if not covered[index]:
            out.append(ch)
        elif index == 0 or not covered[index - 1]:
            out.append(MASK)
    return "".join(out)
