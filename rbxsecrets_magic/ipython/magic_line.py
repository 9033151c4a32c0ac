"""Read a magic's line word by word, and decide which words are certainly not a value.

A value typed on the line by mistake must never be repeated, and must leave the history. So the
line is not handed to argparse as it is: :func:`read_line` splits it like a POSIX shell (but
survives an unclosed quote), walks the words with what the magic takes (:class:`LineSpec`), and
returns a :class:`LineReading`: the words for argparse, the problems found (worded here, never
quoting a rejected word or an argparse message), and the line as it may be kept, where every
word that is not certainly safe is :data:`~rbxsecrets_magic.ipython.redact.MASK`.

Certainly safe are: option names the magic knows, option-shaped words (``--domian``: a typo,
not a value), and arguments that pass their option's check (a universe id that validates, a
variable that exists, a file that exists...). Everything else is masked.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .redact import MASK

__all__ = ["LineReading", "LineSpec", "OptionSpec", "Word", "read_line", "split_words"]

# What a mistyped long option looks like (a value practically never does).
OPTION_SHAPE = re.compile(r"--[a-z][a-z_-]*")


@dataclass(frozen=True)
class Word:
    """One word of the line: ``raw`` as typed (quotes included), ``text`` after unquoting.

    ``text`` is None when the word opens a quote that is never closed.
    """

    raw: str
    text: str | None


def split_words(line: str) -> list[Word]:
    """Split ``line`` like a POSIX shell does, keeping each word's raw form.

    Single quotes keep everything literally; double quotes let a backslash escape ``"``, ``\\``,
    ``$`` and backquote; elsewhere a backslash escapes the next character. Windows keeps
    backslashes (paths) and only strips quotes. An unclosed quote runs to the end of the line
    and gives a word whose ``text`` is None.
    """
    posix = os.name != "nt"
    words: list[Word] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start, text, quote = i, [], ""
        while i < n and (quote or not line[i].isspace()):
            ch = line[i]
            if quote == "'":
                if ch == "'":
                    quote = ""
                else:
                    text.append(ch)
            elif quote == '"':
                if ch == '"':
                    quote = ""
                elif ch == "\\" and posix and i + 1 < n and line[i + 1] in '"\\$`':
                    i += 1
                    text.append(line[i])
                else:
                    text.append(ch)
            elif ch in "'\"":
                quote = ch
            elif ch == "\\" and posix:
                if i + 1 < n:
                    i += 1
                    text.append(line[i])
            else:
                text.append(ch)
            i += 1
        words.append(Word(line[start:i], None if quote else "".join(text)))
    return words


@dataclass(frozen=True)
class OptionSpec:
    """An option of a magic: whether it takes an argument, and when that argument is safe."""

    takes_argument: bool = True
    safe: Callable[[str], bool] = lambda _text: False


@dataclass(frozen=True)
class LineSpec:
    """What a magic's line may hold.

    ``options`` by name; ``positionals``: how many positional words (secret names) the magic
    takes, -1 for any number; ``required``: at least one; ``positional_safe``: the check a
    positional word passes to be kept.
    """

    options: Mapping[str, OptionSpec]
    positionals: int = 0
    required: bool = False
    positional_safe: Callable[[str], bool] = lambda _text: False


@dataclass
class LineReading:
    """The outcome of :func:`read_line`."""

    argv: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    masked: list[Word] = field(default_factory=list)

    @property
    def safe_line(self) -> str:
        """The line with every word that may be a value replaced by the mask."""
        return " ".join(self.kept)


def _option_like(word: Word) -> bool:
    # argparse refuses such a word as an option's argument ("expected one argument").
    text = word.text or word.raw
    return text.startswith("-") and text != "-" and not re.fullmatch(r"-\d+(\.\d+)?", text)


class _Reader:
    """The walk of :func:`read_line`: one method per kind of word."""

    def __init__(self, words: list[Word], spec: LineSpec) -> None:
        self.words, self.spec = words, spec
        self.reading = LineReading()
        self.i = self.stray = self.unclosed = self.positionals = 0
        self.unknown: list[str] = []

    def mask(self, word: Word, prefix: str = "") -> None:
        self.reading.kept.append(prefix + MASK)
        self.reading.masked.append(word)

    def next_argument(self) -> Word | None:
        """The next word, taken as an argument, unless it looks like an option."""
        if self.i < len(self.words) and not _option_like(self.words[self.i]):
            self.i += 1
            return self.words[self.i - 1]
        return None

    def read(self) -> LineReading:
        while self.i < len(self.words):
            word = self.words[self.i]
            self.i += 1
            text = word.text
            if text is None:
                self.unclosed += 1
                self.mask(word)
                continue
            name = text.partition("=")[0]
            if text.startswith("--") and name in self.spec.options:
                self.known_option(word, text)
            elif OPTION_SHAPE.fullmatch(name):
                self.typo_option(word, text)
            elif text.startswith("-") and text != "-":
                self.stray += 1
                self.mask(word)
            elif self.spec.positionals < 0 or self.positionals < self.spec.positionals:
                self.positional(word, text)
            else:
                self.stray += 1
                self.mask(word)
        return self.finish()

    def known_option(self, word: Word, text: str) -> None:
        reading = self.reading
        name, eq, inline = text.partition("=")
        option = self.spec.options[name]
        if not option.takes_argument:
            if eq:
                reading.problems.append(f"{name} takes no argument (drop the '=' and what follows)")
                self.mask(word, f"{name}=")
            else:
                reading.kept.append(name)
                reading.argv.append(name)
            return
        argument = Word(word.raw.partition("=")[2], inline) if eq else self.next_argument()
        if argument is None:
            reading.problems.append(f"{name} expected one argument")
            reading.kept.append(name)
            return
        if argument.text is None:
            self.unclosed += 1
            reading.kept.append(name)
            self.mask(argument)
            return
        reading.argv += [name, argument.text]
        if option.safe(argument.text):
            reading.kept.append(word.raw if eq else name)
            if not eq:
                reading.kept.append(argument.raw)
        elif eq:
            self.mask(argument, f"{name}=")
        else:
            reading.kept.append(name)
            self.mask(argument)

    def typo_option(self, word: Word, text: str) -> None:
        name, eq, inline = text.partition("=")
        guess = difflib.get_close_matches(name, list(self.spec.options), n=1)
        self.unknown.append(f"{name} (did you mean {guess[0]}?)" if guess else name)
        suggested = self.spec.options.get(guess[0]) if guess else None
        if eq:
            if suggested is not None and suggested.safe(inline):
                self.reading.kept.append(word.raw)
            else:
                self.mask(Word(word.raw.partition("=")[2], inline), f"{name}=")
            return
        self.reading.kept.append(name)
        if suggested is None or not suggested.takes_argument:
            return
        # The typo's argument is kept if it would pass the check of the option meant.
        following = self.words[self.i] if self.i < len(self.words) else None
        if following is None or following.text is None or _option_like(following):
            return
        self.i += 1
        if suggested.safe(following.text):
            self.reading.kept.append(following.raw)
        else:
            self.mask(following)

    def positional(self, word: Word, text: str) -> None:
        self.positionals += 1
        self.reading.argv.append(text)
        if self.spec.positional_safe(text):
            self.reading.kept.append(word.raw)
        else:
            self.mask(word)

    def finish(self) -> LineReading:
        reading, spec = self.reading, self.spec
        if self.unclosed:
            reading.problems.insert(0, "a quote on the line is not closed")
        if self.unknown:
            known = ", ".join(sorted(spec.options))
            guessed = any("did you mean" in u for u in self.unknown)
            reading.problems.append(
                f"unknown option {', '.join(self.unknown)}"
                + ("" if guessed else f"; the options are {known}")
            )
        if self.stray:
            reading.problems.append("unexpected word(s) on the line")
        if spec.required and self.positionals == 0 and not reading.problems:
            reading.problems.append("a secret name is required")
        return reading


def read_line(line: str, spec: LineSpec) -> LineReading:
    """Read ``line`` against ``spec``: argv for argparse, problems, and the line as kept."""
    return _Reader(split_words(line), spec).read()
