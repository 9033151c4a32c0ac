"""What an operation needs from the person in front of it: asking, saying and progress.

Each front end passes one :class:`Interaction`: the magics ask with ``input`` (ipykernel's
frontend prompt) and say with ``print``; ``rbx-secrets`` asks on its terminal and says on
stderr. The operations decide *when* to ask; the front ends decide how it looks.

The one confirmation rule (:func:`confirm`), for deleting and for restarting alike:

* ``yes`` (the user answered in advance) skips the question;
* otherwise the question is asked, wherever a person can answer it;
* where nothing can ask (``ask`` returns ``None``: no terminal, a headless kernel), or the
  answer is no, :class:`~rbxsecrets_magic.errors.NotConfirmedError` is raised, and the
  operations raise it before they change anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import NotConfirmedError

__all__ = ["Ask", "Interaction", "ProgressBar", "confirm", "no_progress"]

#: ``ask(question)``: True for yes, False for no, None when nothing can ask.
Ask = Callable[[str], "bool | None"]


class ProgressBar(Protocol):
    """What a progress bar offers an operation (tqdm's ``update`` and ``set_postfix_str``)."""

    def update(self, n: float | None = 1) -> bool | None:
        """Advance by ``n`` steps."""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Show ``s`` after the bar (what is left, for a restart)."""


class _NoBar:
    def update(self, n: float | None = 1) -> bool | None:
        return None

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        return None


@contextmanager
def no_progress(_total: int, _description: str) -> Iterator[ProgressBar]:
    """A progress bar that shows nothing."""
    yield _NoBar()


def _nobody(_question: str) -> bool | None:
    return None


def _silent(_text: str) -> None:
    return None


@dataclass(frozen=True)
class Interaction:
    """How an operation asks, says and shows progress; each front end passes its own.

    Attributes
    ----------
    ask:
        Asks a yes/no question (the text ends with ``[y/N] ``); ``None`` when nothing can ask.
    say:
        Shows one line of what is happening (restart descriptions and outcomes, notes).
    progress:
        ``progress(total, description)``: a context manager yielding a :class:`ProgressBar`.
    """

    ask: Ask = _nobody
    say: Callable[[str], None] = _silent
    progress: Callable[[int, str], AbstractContextManager[ProgressBar]] = field(default=no_progress)


def confirm(question: str, *, action: str, yes: bool, interaction: Interaction) -> None:
    """Ask ``question`` unless ``yes``; refuse unless the answer is yes.

    Raises
    ------
    NotConfirmedError
        When the answer is no, or nothing can ask and ``yes`` is false.
    """
    if yes:
        return
    answer = interaction.ask(question)
    if not answer:
        raise NotConfirmedError(action, could_ask=answer is not None)
