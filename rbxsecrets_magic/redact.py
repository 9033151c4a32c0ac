"""Remove words from the input being executed, wherever IPython has already recorded it.

When a magic finds stray words on its line (most likely a value typed there by mistake), the
line is already in ``In``, in ``_iN``, in the history manager's cache and possibly in the history
database. :func:`redact_current_input` replaces those words with ``<redacted>`` in all of them.
It cannot reach copies outside this process: the notebook file, a frontend's own buffer, or an
``execute_input`` message ipykernel has already broadcast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "redact_current_input", "redact_text"]

MASK = "<redacted>"
# Shorter words are only replaced where they stand alone, never inside other words.
_MIN_SUBSTRING = 4


def redact_text(text: str, words: Iterable[str]) -> str:
    """Replace each of ``words`` in ``text`` with :data:`MASK`.

    A word is replaced where it stands alone (delimited by whitespace or quotes, possibly in
    its escaped form inside a Python string literal). A word of at least four characters that
    never stands alone (say, it was quoted together with other words) is replaced wherever it
    occurs, even inside other words.
    """
    for word in sorted(set(words), key=len, reverse=True):
        if not word:
            continue
        escaped = word.replace("\\", "\\\\")
        forms = list(dict.fromkeys((word, repr(word)[1:-1], escaped.replace("'", "\\'"),
                                    escaped.replace('"', '\\"'))))
        found = 0
        for form in forms:
            pattern = r"(?<![^\s'\"])" + re.escape(form) + r"(?![^\s'\"])"
            text, count = re.subn(pattern, MASK, text)
            found += count
        if not found:
            for form in forms:
                if len(form) >= _MIN_SUBSTRING:
                    text = text.replace(form, MASK)
    return text


def redact_current_input(shell: Any, words: Iterable[str]) -> bool:
    """Redact ``words`` from the input now executing in ``shell``; return whether any was found.

    Best effort: every step is skipped silently when the shell lacks that piece (no history,
    history disabled, a shell that is not an ``InteractiveShell``).
    """
    words = [w for w in words if w]
    history = getattr(shell, "history_manager", None)
    if history is None or not words or not getattr(history, "input_hist_raw", None):
        return False
    raw_entries: list[str] = history.input_hist_raw
    # The input being executed is the last one stored; IPython versions differ on whether
    # execution_count was already incremented, so entries are matched by their text.
    old_raw = raw_entries[-1]
    changed = False
    for name in ("input_hist_parsed", "input_hist_raw"):
        entries = getattr(history, name, None)
        if entries:
            new = redact_text(entries[-1], words)
            changed |= new != entries[-1]
            entries[-1] = new
    if getattr(history, "_i00", None) == old_raw:
        history._i00 = redact_text(old_raw, words)
    user_ns = getattr(shell, "user_ns", {})
    for key, value in list(user_ns.items()):
        if key.startswith("_i") and key[2:].isdigit() and value == old_raw:
            user_ns[key] = redact_text(value, words)
    lock = getattr(history, "db_input_cache_lock", None)
    if lock is None:
        return changed
    with lock:
        cache = getattr(history, "db_input_cache", [])
        for index, (num, source, raw) in enumerate(cache):
            if raw == old_raw:
                cache[index] = (num, redact_text(source, words), redact_text(raw, words))
        changed |= _redact_database(history, old_raw, words)
    return changed


def _redact_database(history: Any, old_raw: str, words: list[str]) -> bool:
    # The saving thread may already have written this input; it writes under the same lock.
    import sqlite3

    try:
        db = history.db
        rows = db.execute(
            "SELECT line, source, source_raw FROM history WHERE session = ? AND source_raw = ?",
            (history.session_number, old_raw),
        ).fetchall()
        changed = False
        for line, source, raw in rows:
            new_source, new_raw = redact_text(source, words), redact_text(raw, words)
            if (new_source, new_raw) != (source, raw):
                changed = True
                with db:
                    db.execute(
                        "UPDATE history SET source = ?, source_raw = ? "
                        "WHERE session = ? AND line = ?",
                        (new_source, new_raw, history.session_number, line),
                    )
        return changed
    except (AttributeError, TypeError, sqlite3.Error):
        # No database, a DummyDB (history off), or a closed or read-only one.
        return False
