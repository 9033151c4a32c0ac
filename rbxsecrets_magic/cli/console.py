"""Where ``rbx-secrets`` reads and writes, its exit codes, and its usage failure."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from ..errors import InvalidInputError

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
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def out(self, text: str) -> None:
        """Write a line of the command's result to stdout."""
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        """Write a line of progress or diagnostics to stderr."""
        print(text, file=self.stderr, flush=True)

    def interactive(self) -> bool:
        """Whether a person can answer a question on stdin."""
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def confirm(self, question: str) -> bool:
        """Ask ``question`` on stderr and read yes/no from stdin."""
        self.stderr.write(f"{question} [y/N] ")
        self.stderr.flush()
        answer = self.stdin.readline()
        return answer.strip().lower() in ("y", "yes")
