"""Text and HTML renderings of plans and apply reports, grouped by universe.

Rows carry ids, actions, reasons and results only: a plan never holds a value in anything it
shows. Text is for terminals and ``rbx-secrets`` without ``--json``; HTML is for Jupyter.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..secrets_as_code.manifest import Target

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
        cells += [result, error]
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
    header = _header(results)
    table = [_cells(r, results, i) for i, r in enumerate(rows)]
    widths = [max([len(h)] + [len(c[k]) for c in table]) for k, h in enumerate(header)]
    lines: list[str] = []
    for title, members in _groups(targets, rows):
        lines.append(f"{title}:")
        if not members:
            lines.append("  (no secrets)")
        for index, _row in members:
            cells = table[index]
            padded = (c.ljust(w) for c, w in zip(cells, widths, strict=True))
            lines.append(("  " + "  ".join(padded)).rstrip())
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
    header = _header(results)
    cell = "<td style='text-align:left'>{}</td>"
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
    body: list[str] = []
    for title, members in _groups(targets, rows):
        body.append(
            f"<tr><th colspan='{len(header)}' style='text-align:left'>"
            f"{html.escape(title)}</th></tr>"
        )
        for index, row in members:
            cells = _cells(row, results, index)
            body.append("<tr>" + "".join(cell.format(html.escape(c)) for c in cells) + "</tr>")
    return (
        f"<table><caption style='text-align:left'>{html.escape(summary)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
