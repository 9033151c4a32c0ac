"""Where ``rbx-secrets`` reads and writes, its exit codes, and its usage failure."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..operations.interaction import ProgressBar

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "PROG", "Console", "UsageFailure"]

PROG = "rbx-secrets"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageFailure(InvalidInputError):
    """A mistake on the command line or in the configuration: one line, exit code 2."""


@dataclass
class Console:
    """Where a command reads and writes; tests pass their own streams."""

    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    # None when the process started with stdin closed (``<&-``): Python sets sys.stdin so.
    stdin: IO[str] | None = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def out(self, text: str) -> None:
        """Write a line of the command's result to stdout."""
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        """Write a line of progress or diagnostics to stderr."""
        print(text, file=self.stderr, flush=True)

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[ProgressBar]:
        """A tqdm progress bar on stderr, drawn only when stderr is a terminal (a log or a
        pipe gets the lines the operations say, not a bar redrawn in place)."""
        from tqdm import tqdm

        try:
            shown = self.stderr.isatty()
        except (AttributeError, ValueError):
            shown = False
        unit = "server" if description.startswith("Restarting") else "secret"
        bar = tqdm(total=total, desc=description, unit=unit, file=self.stderr, disable=not shown)
        try:
            yield bar
        finally:
            bar.close()

    def interactive(self) -> bool:
        """Whether a person can answer a question on stdin."""
        if self.stdin is None:
            return False
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def confirm(self, question: str) -> bool:
        """Ask ``question`` on stderr and read yes/no from stdin; Ctrl-C or end of input is no.

        Every question comes before the first write, so an interrupted answer is a plain no.
        """
        self.stderr.write(f"{question} [y/N] ")
        self.stderr.flush()
        if self.stdin is None:
            return False
        try:
            answer = self.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            self.stderr.write("\n")
            return False
        return answer.strip().lower() in ("y", "yes")
