"""Listing: each universe's secrets and its current key id, which tells the stale ones.

Both front ends call :func:`list_secrets` and render its :class:`Listing` objects (the magics
as a :class:`~rbxsecrets_magic.render.tables.SecretList`, ``rbx-secrets list`` as text or JSON
rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..opencloud.crypto import is_stale

if TYPE_CHECKING:
    from ..opencloud.client import SecretInfo, SecretsClient
    from ..secrets_as_code.manifest import Target

__all__ = ["Listing", "list_secrets"]


@dataclass(frozen=True)
class Listing:
    """One universe's secrets (metadata only) and the id of its current public key."""

    target: Target
    secrets: tuple[SecretInfo, ...]
    current_key_id: str

    def stale(self, info: SecretInfo) -> bool:
        """Whether ``info`` was sealed with a key that is no longer the universe's."""
        return is_stale(info.key_id, self.current_key_id)


def list_secrets(
    targets: Sequence[Target], client_for: Callable[[int], SecretsClient]
) -> list[Listing]:
    """List each universe and fetch its public key (two requests each), in order.

    Raises
    ------
    ApiError, TransportError
        When a listing or a key fetch fails.
    """
    listings: list[Listing] = []
    for target in targets:
        client = client_for(target.universe_id)
        secrets = tuple(client.list())
        listings.append(Listing(target, secrets, client.public_key().key_id))
    return listings
