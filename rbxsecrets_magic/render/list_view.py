"""Listing secrets with a ``stale`` flag: sealed with a key that is no longer the universe's.

:func:`list_rows` lists each universe and fetches its public key (two requests), and returns the
rows of ``rbx-secrets list --json``; :func:`render_list` shows them as aligned text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..secrets_as_code.manifest import Target

from ..opencloud.crypto import is_stale
from .tables import text_table

__all__ = ["list_rows", "render_list"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def list_rows(
    targets: Sequence[Target], clients: Mapping[int, SecretsClient]
) -> list[dict[str, object]]:
    """The rows of a listing, one per secret and universe.

    Each is ``{"universe", "environment", "id", "domain", "key_id", "stale", "create_time",
    "update_time"}``.

    Raises
    ------
    ApiError, TransportError
        When a listing or a key fetch fails.
    """
    rows: list[dict[str, object]] = []
    for target in targets:
        client = clients[target.universe_id]
        secrets = client.list()
        current = client.public_key().key_id
        for info in secrets:
            rows.append(
                {
                    "universe": target.universe_id,
                    "environment": target.environment,
                    "id": info.id,
                    "domain": info.domain,
                    "key_id": info.key_id,
                    "stale": is_stale(info.key_id, current),
                    "create_time": _iso(info.create_time),
                    "update_time": _iso(info.update_time),
                }
            )
    return rows


def render_list(targets: Sequence[Target], rows: Sequence[Mapping[str, object]]) -> str:
    """Aligned text, one block per universe (times in UTC)."""
    header = ("id", "domain", "key_id", "stale", "created", "updated")
    lines: list[str] = []
    for target in targets:
        mine = [r for r in rows if r["universe"] == target.universe_id]
        lines.append(f"Universe {target.label}: {len(mine)} secret{'' if len(mine) == 1 else 's'}")
        cells = [
            (
                str(r["id"]),
                str(r["domain"] or "(private)"),
                str(r["key_id"] or ""),
                "stale" if r["stale"] else "",
                _short(r["create_time"]),
                _short(r["update_time"]),
            )
            for r in mine
        ]
        if cells:
            lines += text_table(header, cells, rule=False, indent="  ")
        lines.append("")
    return "\n".join(lines).rstrip()


def _short(stamp: object) -> str:
    return str(stamp)[:19].replace("T", " ") if stamp else ""
