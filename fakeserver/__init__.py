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

It also runs game servers (:meth:`FakeOpenCloud.start_server`): each keeps the secrets its
universe had when it started, until a restart (``:restartServers``) replaces it, and resolves
``HttpService`` requests with Roblox's domain rule, so a test can check a whole rollout.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "OPERATIONS",
    "ApiKey",
    "DropConnection",
    "FakeOpenCloud",
    "FakeServer",
    "GameServer",
    "GameServerError",
    "JournalEntry",
    "OAuthToken",
    "RestartScheduled",
    "Secret",
    "Universe",
]

# Where each lazily exported name lives. Importing the package must stay cheap: pytest loads
# fakeserver.pytest_plugin (and so this package) in every session of every project that
# installs it, and the backend pulls in PyNaCl.
_LAZY = {
    "OPERATIONS": "backend.models",
    "ApiKey": "backend.models",
    "DropConnection": "errors",
    "FakeOpenCloud": "cloud",
    "FakeServer": "transports.server",
    "GameServer": "backend.gameservers",
    "GameServerError": "errors",
    "RestartScheduled": "backend.occupancy",
    "Secret": "backend.gameservers",
    "JournalEntry": "backend.models",
    "OAuthToken": "backend.models",
    "Universe": "backend.models",
}

if TYPE_CHECKING:
    from .backend.gameservers import GameServer, Secret
    from .backend.models import OPERATIONS, ApiKey, JournalEntry, OAuthToken, Universe
    from .backend.occupancy import RestartScheduled
    from .cloud import FakeOpenCloud
    from .errors import DropConnection, GameServerError
    from .transports.server import FakeServer


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, including the lazy exports not imported yet."""
    return sorted({*globals(), *__all__})
