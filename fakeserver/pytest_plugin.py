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
factory's own: ``universes``, ``api_key``, ``read``, ``write`` and ``serve``, and the marker's
``allow_network``. Errors raised in a server thread during the test are re-raised when the
fixture tears down.

A test that uses either fixture cannot reach Roblox by mistake:

* the ``RBX_*`` environment variables are the fake's for the test (``RBX_OPEN_CLOUD_URL`` its
  URL, ``RBX_API_KEY`` its key, ``RBX_UNIVERSE_ID`` its first universe, ``RBX_OAUTH_TOKEN``
  unset; those of the first fake the factory makes), so code that forgets ``base_url`` talks to
  the fake and a developer's real key is never read; they are restored afterwards;
* a connection or name lookup to any host but loopback fails at once with
  :class:`~fakeserver.network_guard.NetworkBlockedError`, unless the test is marked
  ``@pytest.mark.fake_open_cloud(allow_network=True)``. ``--fake-open-cloud-block-network``
  (or ``fake_open_cloud_block_network = true`` in the ini file) guards every test of the
  session, fixture or not.

Another fixture (one that does not build on these) gets the same guard with
``with network_guard(request): yield ...``, and the same environment with
``point_environment_at(monkeypatch, handle)``.

This module holds fixtures only; nothing heavy is imported until a fixture runs, because pytest
loads it in every test session of every project that installs the package.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from .network_guard import loopback_only

if TYPE_CHECKING:
    from fakeserver import FakeOpenCloud, FakeServer
    from fakeserver.luau import LuauGame

__all__ = [
    "FakeOpenCloudHandle",
    "fake_open_cloud",
    "fake_open_cloud_factory",
    "luau_game",
    "luau_game_factory",
    "network_guard",
    "point_environment_at",
]

MARKER = "fake_open_cloud"
LUAU_MARKER = "luau_game"
#: LuauGame's options, accepted by the luau_game marker and by the fake_open_cloud marker.
LUAU_GAME_OPTIONS = ("project", "studio", "local_secrets", "client", "http_enabled", "limits")
BLOCK_OPTION = "fake_open_cloud_block_network"
ALLOW_HINT = f"@pytest.mark.{MARKER}(allow_network=True)"

# The names rbxsecrets_magic.settings reads (the packages never import each other; a test
# checks that the lists agree).
ENV_UNIVERSE_ID = "RBX_UNIVERSE_ID"
ENV_API_KEY = "RBX_API_KEY"
ENV_OAUTH_TOKEN = "RBX_OAUTH_TOKEN"
ENV_BASE_URL = "RBX_OPEN_CLOUD_URL"
ENV_VARS = (ENV_UNIVERSE_ID, ENV_API_KEY, ENV_OAUTH_TOKEN, ENV_BASE_URL)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--fake-open-cloud-block-network`` and its ini twin."""
    help_text = (
        "refuse connections and name lookups beyond loopback in every test of the session "
        f"(a test marked {ALLOW_HINT} is exempt)"
    )
    parser.addoption(
        "--fake-open-cloud-block-network", action="store_true", dest=BLOCK_OPTION, help=help_text
    )
    parser.addini(BLOCK_OPTION, help_text, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_open_cloud`` marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments for the FakeOpenCloud behind the "
        "fake_open_cloud fixture (switches, rate_limit, universes, read, write, ...); "
        "allow_network=True lets the test reach hosts beyond loopback",
    )
    config.addinivalue_line(
        "markers",
        f"{LUAU_MARKER}(**kwargs): keyword arguments for the LuauGame behind the luau_game "
        "fixture (project, studio, local_secrets, client, http_enabled, limits)",
    )


def _network_allowed(node: pytest.Item | pytest.Collector) -> bool:
    """Whether the closest ``fake_open_cloud`` marker says ``allow_network=True``."""
    marker = node.get_closest_marker(MARKER)
    return marker is not None and marker.kwargs.get("allow_network") is True


def _blocks_every_test(config: pytest.Config) -> bool:
    """Whether the session guards every test (the option or the ini setting)."""
    return bool(config.getoption(BLOCK_OPTION) or config.getini(BLOCK_OPTION))


@contextmanager
def network_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Refuse the network beyond loopback while the block runs, unless the test allows it.

    For fixtures: ``with network_guard(request): yield value`` guards the test from the
    fixture's set-up to its tear-down. The test allows the network with
    ``@pytest.mark.fake_open_cloud(allow_network=True)``.
    """
    if _network_allowed(request.node):
        yield
        return
    with loopback_only(ALLOW_HINT):
        yield


@contextmanager
def _session_guard(item: pytest.Item) -> Iterator[None]:
    """The guard for one phase of ``item`` when the session blocks the network."""
    if not _blocks_every_test(item.config) or _network_allowed(item):
        yield
        return
    with loopback_only(ALLOW_HINT):
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Guard fixture set-up when the session blocks the network."""
    with _session_guard(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Guard the test itself when the session blocks the network."""
    with _session_guard(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    """Guard fixture tear-down when the session blocks the network."""
    with _session_guard(item):
        return (yield)


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


def point_environment_at(
    monkeypatch: pytest.MonkeyPatch, handle: FakeOpenCloudHandle | None
) -> None:
    """Replace the ``RBX_*`` variables by ``handle``'s (none at all for ``None``).

    ``RBX_OPEN_CLOUD_URL`` is the served URL; a fake that is not served leaves it unset, so
    the client's default, ``https://apis.roblox.com``, is what ``fake.mount`` and
    ``fake.respx_route`` intercept (and what the network guard refuses otherwise).
    ``monkeypatch`` puts the old values back when the test ends.
    """
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    if handle is None:
        return
    monkeypatch.setenv(ENV_API_KEY, handle.api_key)
    monkeypatch.setenv(ENV_UNIVERSE_ID, str(handle.universe_id))
    if handle.server is not None:
        monkeypatch.setenv(ENV_BASE_URL, handle.server.url)


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
def fake_open_cloud_factory(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeOpenCloudFactory]:
    """Return a function that makes served fakes; each is stopped when the test ends.

    The function takes ``universes`` (a count or a list of ids, default 1), ``api_key`` (a
    fixed key string, generated by default), ``read`` and ``write`` (the key's permissions,
    default both), ``serve`` (start a loopback server, default ``True``) and any keyword
    argument of ``FakeOpenCloud``. It returns a ``FakeOpenCloudHandle``.

    From the fixture's start, the ``RBX_*`` variables are unset, then those of the first fake
    made (see :func:`point_environment_at`), and the network beyond loopback is refused (see
    :func:`network_guard`).
    """
    with network_guard(request):
        point_environment_at(monkeypatch, None)
        made: list[FakeOpenCloudHandle] = []

        def factory(**kwargs: Any) -> FakeOpenCloudHandle:
            handle = _build(**kwargs)
            made.append(handle)
            if len(made) == 1:
                point_environment_at(monkeypatch, handle)
            return handle

        yield factory
        _stop_all(made)


def _stop_all(made: list[FakeOpenCloudHandle]) -> None:
    """Stop every served fake, then raise what their server threads raised."""
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
    kwargs.pop("allow_network", None)
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
