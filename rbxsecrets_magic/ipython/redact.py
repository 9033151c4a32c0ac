"""Remove words from the input being executed, wherever IPython has already recorded it.

When a magic refuses its line (it may hold a value typed there by mistake), the line is already
in ``In``, in ``_iN``, in the history manager's cache, possibly in the history database (both
its ``source`` and ``source_raw`` columns) and in a ``%logstart`` log file.
:func:`redact_magic_line` replaces the line there with the magic's safe form (see
:mod:`rbxsecrets_magic.ipython.magic_line`) and says which places it reached. It cannot reach copies
outside this process: the notebook file, a frontend's own buffer, or an ``execute_input``
message ipykernel has already broadcast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["MASK", "Redaction", "redact_magic_line", "redact_text"]

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
        forms = list(
            dict.fromkeys(
                (word, repr(word)[1:-1], escaped.replace("'", "\\'"), escaped.replace('"', '\\"'))
            )
        )
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


@dataclass(frozen=True)
class Redaction:
    """Where :func:`redact_magic_line` removed the line from.

    ``history``: found and replaced in this session's history (In, _iN, the database).
    ``log``: None when no ``%logstart`` log is active; else whether its file was rewritten.
    ``log_file``: the log file's name, for a message that says where it failed.
    """

    history: bool
    log: bool | None = None
    log_file: str = ""


def _line_rewriter(magic: str, line: str, safe: str, words: list[str]) -> Callable[[str], str]:
    """A function that puts ``safe`` in place of ``line`` in a raw or a transformed input."""
    parsed_old = f"run_line_magic({magic!r}, {line!r})"
    parsed_new = f"run_line_magic({magic!r}, {safe!r})"
    # IPython strips the trailing blanks of a magic's line but passes the line on as typed.
    raw_old = re.compile(
        r"(?<![\w%])(%?)" + re.escape(f"{magic} {line}".rstrip()) + r"(?=[ \t]*(?:\r?\n|$))",
        re.MULTILINE,
    )

    def rewrite(text: str) -> str:
        new = text.replace(parsed_old, parsed_new)
        new = raw_old.sub(lambda m: f"{m.group(1)}{magic} {safe}", new)
        # A line IPython joined (a trailing backslash) or a call written out in Python.
        return new if new != text else redact_text(text, words)

    return rewrite


def redact_magic_line(
    shell: InteractiveShell | None, magic: str, line: str, safe: str, words: Iterable[str]
) -> Redaction:
    """Replace the line of ``%magic`` being executed with ``safe`` wherever it was recorded.

    ``words`` are the masked words (raw and unquoted forms), used where the line is not found
    as typed. Returns what was reached; every step is skipped when the shell lacks that piece.
    """
    rewrite = _line_rewriter(magic, line, safe, [w for w in words if w])
    history = getattr(shell, "history_manager", None)
    changed = False
    if history is not None and getattr(history, "input_hist_raw", None):
        changed = _rewrite_history(shell, history, rewrite)
    log_ok: bool | None = None
    logger = getattr(shell, "logger", None)
    if logger is not None and getattr(logger, "log_active", False):
        log_ok = _rewrite_log(logger, rewrite)
    return Redaction(changed, log_ok, str(getattr(logger, "logfname", "") or ""))


def _rewrite_history(shell: Any, history: Any, rewrite: Callable[[str], str]) -> bool:
    old_raw: str = history.input_hist_raw[-1]
    changed = False
    for name in ("input_hist_parsed", "input_hist_raw"):
        entries = getattr(history, name, None)
        if entries:
            new = rewrite(entries[-1])
            changed |= new != entries[-1]
            entries[-1] = new
    if getattr(history, "_i00", None) == old_raw:
        history._i00 = rewrite(old_raw)
    user_ns = getattr(shell, "user_ns", {})
    for key, value in list(user_ns.items()):
        if key.startswith("_i") and isinstance(value, str) and value == old_raw:
            user_ns[key] = rewrite(value)
    lock = getattr(history, "db_input_cache_lock", None)
    if lock is None:
        return changed
    with lock:
        cache = getattr(history, "db_input_cache", [])
        for index, (num, source, raw) in enumerate(cache):
            if raw == old_raw:
                cache[index] = (num, rewrite(source), rewrite(raw))
        changed |= _rewrite_database(history, old_raw, rewrite)
    return changed


def _rewrite_log(logger: Any, rewrite: Callable[[str], str]) -> bool:
    """Rewrite the %logstart file by name and reopen it for appending; False if out of reach."""
    try:
        logger.logfile.flush()
        with open(logger.logfname, encoding="utf-8") as file:
            text = file.read()
        new = rewrite(text)
        if new != text:
            with open(logger.logfname, "w", encoding="utf-8") as file:
                file.write(new)
            # The logger's handle may be mid-file (mode "w"): continue at the new end.
            old, logger.logfile = logger.logfile, open(logger.logfname, "a", encoding="utf-8")  # noqa: SIM115
            old.close()
        return True
    except (OSError, AttributeError, TypeError, ValueError):
        return False


def _rewrite_database(history: Any, old_raw: str, rewrite: Callable[[str], str]) -> bool:
    import sqlite3

    try:
        db = history.db
        rows = db.execute(
            "SELECT line, source, source_raw FROM history WHERE session = ? AND source_raw = ?",
            (history.session_number, old_raw),
        ).fetchall()
        changed = False
        for line, source, raw in rows:
            new_source, new_raw = rewrite(source), rewrite(raw)
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
