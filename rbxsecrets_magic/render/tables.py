"""Result objects of the magics that render as tables: HTML in Jupyter, aligned text in a terminal.

Neither object ever holds a secret's value: the API never returns one, and a bulk summary keeps
only each value's length.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, overload

from ..opencloud.crypto import is_stale

if TYPE_CHECKING:
    from ..opencloud.client import SecretInfo

__all__ = [
    "SecretList",
    "SetRow",
    "SetSummary",
    "column_widths",
    "html_table",
    "text_lines",
    "text_table",
]

_PRIVATE = "(private)"


class Printer(Protocol):
    """What ``_repr_pretty_`` is given (IPython's RepresentationPrinter), as far as used here."""

    def text(self, obj: str) -> None:
        """Add ``obj`` to the output."""


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def column_widths(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of each column: its longest cell, the header's included."""
    return [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]


def text_lines(rows: Sequence[Sequence[str]], widths: Sequence[int], indent: str = "") -> list[str]:
    """Each row as one line of cells padded to ``widths``, two spaces apart."""
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))).rstrip()
        for row in rows
    ]


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, rule: bool = True, indent: str = ""
) -> list[str]:
    """The one text table: the header, a rule of dashes under it, then the rows."""
    widths = column_widths(header, rows)
    lines = text_lines([header, *rows], widths, indent)
    if rule:
        lines.insert(1, indent + "  ".join("-" * width for width in widths))
    return lines


def html_table(
    caption: str,
    header: Sequence[str],
    groups: Sequence[tuple[str | None, Sequence[Sequence[str]]]],
) -> str:
    """The one HTML table: ``caption``, the header, then each group (a title row, if any)."""
    cell = "<td style='text-align:left'>{}</td>"
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
    body: list[str] = []
    for title, rows in groups:
        if title is not None:
            body.append(
                f"<tr><th colspan='{len(header)}' style='text-align:left'>"
                f"{html.escape(title)}</th></tr>"
            )
        body += [
            "<tr>" + "".join(cell.format(html.escape(c)) for c in row) + "</tr>" for row in rows
        ]
    return (
        f"<table><caption style='text-align:left'>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


class SecretList(Sequence["SecretInfo"]):
    """The secrets of one universe, as returned by ``%rbx_secret_list``.

    A read-only sequence of :class:`~rbxsecrets_magic.opencloud.client.SecretInfo` (metadata
    only: the
    API never returns values). Renders as an HTML table in Jupyter and as aligned text in a
    terminal.

    Examples
    --------
    >>> secrets = %rbx_secret_list          # doctest: +SKIP
    >>> [s.id for s in secrets]             # doctest: +SKIP
    ['api_token', 'stripe_key']
    """

    header = ("id", "domain", "key_id", "stale", "created", "updated")

    def __init__(
        self,
        universe_id: int,
        secrets: Sequence[SecretInfo],
        current_key_id: str | None = None,
    ) -> None:
        """``current_key_id``: the universe's key now, which tells which secrets are stale."""
        self.universe_id = universe_id
        self._secrets = tuple(secrets)
        self.current_key_id = current_key_id

    def is_stale(self, secret: SecretInfo) -> bool:
        """Whether ``secret`` is sealed with a key that is no longer the universe's current one.

        False when the current key is not known.
        """
        return is_stale(secret.key_id, self.current_key_id)

    @property
    def stale(self) -> list[str]:
        """The ids of the secrets sealed with an old key (rewrite them to reseal)."""
        return [s.id for s in self._secrets if self.is_stale(s)]

    @property
    def ids(self) -> list[str]:
        """The secret ids, in listing order."""
        return [s.id for s in self._secrets]

    @overload
    def __getitem__(self, index: int) -> SecretInfo: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[SecretInfo]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self._secrets[index]

    def __len__(self) -> int:
        return len(self._secrets)

    def __iter__(self) -> Iterator[SecretInfo]:
        return iter(self._secrets)

    def rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """The table's rows as strings, in the order of :attr:`header`."""
        return [
            (
                s.id,
                s.domain or _PRIVATE,
                str(s.key_id or ""),
                "stale" if self.is_stale(s) else "",
                _when(s.create_time),
                _when(s.update_time),
            )
            for s in self._secrets
        ]

    def _caption(self) -> str:
        count = len(self._secrets)
        noun = "secret" if count == 1 else "secrets"
        return f"{count} {noun} in universe {self.universe_id} (times in UTC)"

    def __repr__(self) -> str:
        if not self._secrets:
            return f"No secrets in universe {self.universe_id}."
        return f"{self._caption()}:\n" + "\n".join(text_table(self.header, self.rows()))

    def _repr_pretty_(self, p: Printer, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        if not self._secrets:
            return f"<p>No secrets in universe {html.escape(str(self.universe_id))}.</p>"
        return html_table(self._caption(), self.header, [(None, self.rows())])


@dataclass(frozen=True)
class SetRow:
    """The outcome for one entry of a bulk set: the value's length, never the value."""

    secret_id: str
    # created, updated, failed, unknown (sent without an answer: it may still land), or
    # "would create"/"would update" in a dry run
    action: str
    length: int
    error: str = ""


class SetSummary(Sequence[SetRow]):
    """Summary of ``%rbx_secret_set --env-file``: one row per entry plus counts per action."""

    header = ("secret", "action", "length", "error")

    def __init__(self, universe_id: int, rows: Sequence[SetRow], *, dry_run: bool = False) -> None:
        self.universe_id = universe_id
        self.dry_run = dry_run
        self._rows = tuple(rows)

    @overload
    def __getitem__(self, index: int) -> SetRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[SetRow]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[SetRow]:
        return iter(self._rows)

    def counts(self) -> dict[str, int]:
        """How many entries ended with each action (all three actions, zeros included)."""
        actions = (
            ("would create", "would update") if self.dry_run else ("created", "updated", "failed")
        )
        result = dict.fromkeys(actions, 0)
        for row in self._rows:
            result[row.action] = result.get(row.action, 0) + 1
        return result

    @property
    def failed(self) -> list[SetRow]:
        """The rows not confirmed written: failed, or with an unknown outcome."""
        return [row for row in self._rows if row.action in ("failed", "unknown")]

    def _caption(self) -> str:
        counts = ", ".join(f"{n} {action}" for action, n in self.counts().items())
        if self.dry_run:
            return f"Dry run for universe {self.universe_id}, nothing written: {counts}"
        return f"Universe {self.universe_id}: {counts}"

    def _cells(self) -> list[tuple[str, str, str, str]]:
        return [(r.secret_id, r.action, str(r.length), r.error) for r in self._rows]

    def __repr__(self) -> str:
        return f"{self._caption()}\n" + "\n".join(text_table(self.header, self._cells()))

    def _repr_pretty_(self, p: Printer, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        return html_table(self._caption(), self.header, [(None, self._cells())])
