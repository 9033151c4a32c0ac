"""pytest fixtures that serve a fresh fake Open Cloud to each test.

Loaded through the ``pytest11`` entry point, so installing the package is enough::

    def test_set(fake_open_cloud):
        client = SecretsClient(fake_open_cloud.universe_id, api_key=fake_open_cloud.api_key,
                               base_url=fake_open_cloud.url)
        client.create("api_token", "s3cret")
        assert fake_open_cloud.plaintext("api_token") == "s3cret"

    @pytest.mark.fake_open_cloud(rate_limit=(120, 1.0), problem_status_as_number=True)
    def test_switches(fake_open_cloud): ...

    @pytest.mark.luau_game(project="path/to/game")   # LuauGame's keyword arguments
    def test_game_code(luau_game):                    # one universe, one game server, a VM
        luau_game.respond_with(204)
        luau_game.run_instance("ServerScriptService.Main")
        assert luau_game.requests[0].url == "https://discord.com/api/webhooks/1/abc"

    def test_two_universes(fake_open_cloud_factory):
        cloud = fake_open_cloud_factory(universes=[111, 222], read=True, write=False)

Keyword arguments of the marker and of the factory go to ``FakeOpenCloud``, except the
factory's own: ``universes``, ``api_key``, ``read``, ``write`` and ``serve``. Errors raised in
a server thread during the test are re-raised when the fixture tears down.

This module holds fixtures only; nothing heavy is imported until a fixture runs, because pytest
loads it in every test session of every project that installs the package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fakeserver import FakeOpenCloud, FakeServer
    from fakeserver.luau import LuauGame

__all__ = [
    "FakeOpenCloudHandle",
    "fake_open_cloud",
    "fake_open_cloud_factory",
    "luau_game",
    "luau_game_factory",
]

MARKER = "fake_open_cloud"
LUAU_MARKER = "luau_game"
#: LuauGame's options, accepted by the luau_game marker and by the fake_open_cloud marker.
LUAU_GAME_OPTIONS = ("project", "studio", "local_secrets", "client", "http_enabled", "limits")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_open_cloud`` marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments for the FakeOpenCloud behind the "
        "fake_open_cloud fixture (switches, rate_limit, universes, read, write, ...)",
    )
    config.addinivalue_line(
        "markers",
        f"{LUAU_MARKER}(**kwargs): keyword arguments for the LuauGame behind the luau_game "
        "fixture (project, studio, local_secrets, client, http_enabled, limits)",
    )


@dataclass(repr=False)
class FakeOpenCloudHandle:
    """What a test gets from the fixtures: the fake, where it listens, and one credential.

    Attributes
    ----------
    fake:
        The ``FakeOpenCloud`` holding the state; use it to add credentials, inject faults,
        read the journal or rotate keys.
    server:
        The running ``FakeServer``, or ``None`` when the factory was asked not to serve.
    universe_ids:
        Every universe the fixture created, in order; ``universe_id`` is the first.
    api_key:
        An API key with the permissions asked for (read and write by default), limited to
        these universes: a universe the test adds later answers it with 403.
    """

    fake: FakeOpenCloud
    server: FakeServer | None
    universe_ids: list[int]
    api_key: str

    @property
    def universe_id(self) -> int:
        """The first (usually the only) universe."""
        return self.universe_ids[0]

    @property
    def url(self) -> str:
        """Base URL of the loopback server, e.g. ``"http://127.0.0.1:51234"``."""
        if self.server is None:
            raise RuntimeError("this fake is not served over HTTP (serve=False)")
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        """Request headers carrying the fixture's API key."""
        return {"x-api-key": self.api_key}

    def plaintext(self, secret_id: str, universe_id: int | None = None) -> str:
        """Return the decrypted value the fake holds for ``secret_id``.

        ``universe_id`` defaults to the fixture's first universe. Raises ``KeyError`` when the
        secret does not exist.
        """
        return self.fake.plaintext(
            self.universe_id if universe_id is None else universe_id, secret_id
        )

    def __repr__(self) -> str:
        """Show where the fake listens and its universes, never the API key."""
        where = self.server.url if self.server is not None else "not served"
        return f"FakeOpenCloudHandle(url={where!r}, universe_ids={self.universe_ids!r})"


FakeOpenCloudFactory = Callable[..., FakeOpenCloudHandle]


def _build(
    *,
    universes: int | Iterable[int] = 1,
    api_key: str | None = None,
    read: bool = True,
    write: bool = True,
    serve: bool = True,
    **fake_kwargs: Any,
) -> FakeOpenCloudHandle:
    """Make a fake with universes and one API key, and serve it if asked."""
    from .cloud import FakeOpenCloud

    fake = FakeOpenCloud(**fake_kwargs)
    wanted: list[int | None] = [None] * universes if isinstance(universes, int) else list(universes)
    if not wanted:
        raise ValueError("the fixture needs at least one universe")
    universe_ids = [fake.add_universe(u).universe_id for u in wanted]
    credential = fake.add_api_key(read=read, write=write, universe_ids=universe_ids, key=api_key)
    server = fake.serve().start() if serve else None
    return FakeOpenCloudHandle(fake, server, universe_ids, credential.key)


@pytest.fixture
def fake_open_cloud_factory() -> Iterator[FakeOpenCloudFactory]:
    """Return a function that makes served fakes; each is stopped when the test ends.

    The function takes ``universes`` (a count or a list of ids, default 1), ``api_key`` (a
    fixed key string, generated by default), ``read`` and ``write`` (the key's permissions,
    default both), ``serve`` (start a loopback server, default ``True``) and any keyword
    argument of ``FakeOpenCloud``. It returns a ``FakeOpenCloudHandle``.
    """
    made: list[FakeOpenCloudHandle] = []

    def factory(**kwargs: Any) -> FakeOpenCloudHandle:
        handle = _build(**kwargs)
        made.append(handle)
        return handle

    yield factory
    from .errors import raise_collected

    errors: list[Exception] = []
    for handle in made:
        if handle.server is None:
            continue
        try:
            handle.server.stop()
        except Exception as exc:  # noqa: BLE001  every server gets stopped before raising
            errors.append(exc)
    raise_collected(errors, "raised in fake Open Cloud server threads")


@pytest.fixture
def fake_open_cloud(
    request: pytest.FixtureRequest, fake_open_cloud_factory: FakeOpenCloudFactory
) -> FakeOpenCloudHandle:
    """A fresh fake Open Cloud served on loopback, with one universe and a read/write API key.

    Configure it with ``@pytest.mark.fake_open_cloud(**kwargs)``; see the module docstring.
    """
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.args:
        # Silently dropping them would run the test against a fake it did not ask for.
        raise TypeError(
            f"the {MARKER} marker takes keyword arguments only, e.g. "
            f"@pytest.mark.{MARKER}(rate_limit=(120, 60.0))"
        )
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    # The game's options may ride on this marker too; they are the luau_game fixture's.
    return fake_open_cloud_factory(
        **{k: v for k, v in kwargs.items() if k not in LUAU_GAME_OPTIONS}
    )


LuauGameFactory = Callable[..., "LuauGame"]


@pytest.fixture
def luau_game_factory(fake_open_cloud: FakeOpenCloudHandle) -> Iterator[LuauGameFactory]:
    """Return a function that starts a game server of the test's fake now and runs a
    ``LuauGame`` on it (keyword arguments: ``LuauGame``'s, plus ``universe_id`` and
    ``place_id``); each game is closed when the test ends. The game's ``cloud`` attribute is
    the ``FakeOpenCloudHandle``. A server started after a secret changed sees the new value.
    """
    from .luau import LuauGame

    made: list[LuauGame] = []

    def factory(
        *, universe_id: int | None = None, place_id: int | None = None, **kwargs: Any
    ) -> LuauGame:
        universe = fake_open_cloud.universe_id if universe_id is None else universe_id
        server = fake_open_cloud.fake.start_server(universe, place_id)
        kwargs.setdefault("game_id", universe)
        game = LuauGame(server, fake=fake_open_cloud.fake, **kwargs)
        game.cloud = fake_open_cloud
        made.append(game)
        return game

    yield factory
    for game in made:
        game.close()


@pytest.fixture
def luau_game(request: pytest.FixtureRequest, luau_game_factory: LuauGameFactory) -> LuauGame:
    """Game code on a fresh fake: one universe, one game server started now, a Luau VM.

    Configure the fake with ``@pytest.mark.fake_open_cloud(...)`` and the game with
    ``project=``, ``studio=``, ... (``LuauGame``'s options) on that marker or on
    ``@pytest.mark.luau_game(...)``, which wins where both name one.
    """
    options: dict[str, Any] = {}
    cloud_marker = request.node.get_closest_marker(MARKER)
    if cloud_marker is not None:
        options.update((k, v) for k, v in cloud_marker.kwargs.items() if k in LUAU_GAME_OPTIONS)
    marker = request.node.get_closest_marker(LUAU_MARKER)
    if marker is not None and marker.args:
        raise TypeError(
            f"the {LUAU_MARKER} marker takes keyword arguments only, e.g. "
            f'@pytest.mark.{LUAU_MARKER}(project="path/to/game")'
        )
    options.update(marker.kwargs if marker is not None else {})
    return luau_game_factory(**options)
