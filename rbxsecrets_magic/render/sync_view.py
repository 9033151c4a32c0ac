"""Text and HTML renderings of plans and apply reports, grouped by universe.

Rows carry ids, actions, reasons and results only: a plan never holds a value in anything it
shows. Text is for terminals and ``rbx-secrets`` without ``--json``; HTML is for Jupyter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..secrets_as_code.manifest import Target

from .tables import column_widths, html_table, text_lines

__all__ = ["render_html", "render_text"]


class Row(Protocol):
    """What a rendered row needs (a plan
    :class:`~rbxsecrets_magic.secrets_as_code.plan.Change` has it)."""

    @property
    def universe(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def marker(self) -> str: ...


def _cells(row: Row, results: dict[int, tuple[str, str]] | None, index: int) -> list[str]:
    cells = [row.marker, row.id, row.action, row.reason]
    if results is not None:
        result, error = results.get(index, ("", ""))
        # An error row's reason is its error: said once, not twice on one long line.
        cells += [result, "" if error == row.reason else error]
    return cells


def _header(results: object) -> list[str]:
    header = ["", "secret", "action", "reason"]
    return header + ["result", "error"] if results is not None else header


def _groups(
    targets: Sequence[Target], rows: Sequence[Row]
) -> list[tuple[str, list[tuple[int, Row]]]]:
    labels = {t.universe_id: t.label for t in targets}
    order = [t.universe_id for t in targets]
    for row in rows:
        if row.universe not in labels:
            labels[row.universe] = str(row.universe)
            order.append(row.universe)
    return [
        (f"Universe {labels[u]}", [(i, r) for i, r in enumerate(rows) if r.universe == u])
        for u in order
    ]


def render_text(
    targets: Sequence[Target],
    rows: Sequence[Row],
    summary: str,
    results: dict[int, tuple[str, str]] | None = None,
) -> str:
    """Aligned text, one block per universe, ``summary`` last.

    ``results`` maps row indexes to ``(result, error)`` for an apply report.
    """
    table = [_cells(r, results, i) for i, r in enumerate(rows)]
    widths = column_widths(_header(results), table)
    lines: list[str] = []
    for title, members in _groups(targets, rows):
        lines.append(f"{title}:")
        if not members:
            lines.append("  (no secrets)")
        lines += text_lines([table[index] for index, _row in members], widths, "  ")
        lines.append("")
    lines.append(summary)
    return "\n".join(lines)


def render_html(
    targets: Sequence[Target],
    rows: Sequence[Row],
    summary: str,
    results: dict[int, tuple[str, str]] | None = None,
) -> str:
    """An HTML table, with a header row per universe and ``summary`` as the caption."""
    groups = [
        (title, [_cells(row, results, index) for index, row in members])
        for title, members in _groups(targets, rows)
    ]
    return html_table(summary, _header(results), groups)
