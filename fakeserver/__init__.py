"""A faithful, decrypting fake of the Roblox Open Cloud secrets store, for offline tests.

The fake holds a real X25519 keypair for every universe and opens every sealed box it receives,
so a test can assert that the exact value a user typed arrived::

    from fakeserver import FakeOpenCloud

    fake = FakeOpenCloud()
    universe = fake.add_universe()
    api_key = fake.add_api_key()
    with fake.serve() as server:           # real HTTP on 127.0.0.1
        ...                                # point any client at server.url
    assert fake.plaintext(universe.universe_id, "stripe_key") == "sk_test_..."

The same state is reachable over loopback HTTP (:meth:`FakeOpenCloud.serve`), through a
``requests`` adapter (:meth:`FakeOpenCloud.mount`), through httpx with respx
(:meth:`FakeOpenCloud.respx_route`), and as a WSGI app (:attr:`FakeOpenCloud.app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .backend import (
    OPERATIONS,
    ApiKey,
    FakeOpenCloud,
    JournalEntry,
    OAuthToken,
    Universe,
)
from .errors import DropConnection

if TYPE_CHECKING:
    from .server import FakeServer

__all__ = [
    "OPERATIONS",
    "ApiKey",
    "DropConnection",
    "FakeOpenCloud",
    "FakeServer",
    "JournalEntry",
    "OAuthToken",
    "Universe",
]


def __getattr__(name: str) -> Any:
    """Import ``FakeServer`` on first use, so importing the fake never starts socket code."""
    if name == "FakeServer":
        from .server import FakeServer

        return FakeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
