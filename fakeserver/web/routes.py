"""The route table: which path and method name which operation.

Routes are compiled once; matching a request costs a few regular expressions. The operation
names are the ones ``inject_fault``, the journal and the backend's methods use.
"""

from __future__ import annotations

import re

from ..errors import MethodNotAllowed, NotFound

__all__ = ["FAKE_ROUTES", "ROUTES", "Route", "Router"]


class Route:
    """A path template such as ``/cloud/v2/universes/{universeId}/secrets`` and its methods.

    Parameters
    ----------
    template:
        The path; each ``{name}`` matches one non-empty path segment.
    methods:
        HTTP method -> operation name.
    """

    __slots__ = ("methods", "pattern", "template")

    def __init__(self, template: str, **methods: str) -> None:
        """Compile the template once."""
        self.template = template
        self.methods = methods
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.pattern = re.compile(regex)

    def __repr__(self) -> str:
        """Show the template and methods."""
        return f"Route({self.template!r}, {self.methods!r})"


#: The API, as ``shared/docs/secrets-api.md`` sections 1, 9 and 10 list it.
ROUTES: tuple[Route, ...] = (
    Route("/cloud/v2/universes/{universeId}/secrets/public-key", GET="get_public_key"),
    Route("/cloud/v2/universes/{universeId}/secrets", GET="list_secrets", POST="create_secret"),
    Route(
        "/cloud/v2/universes/{universeId}/secrets/{secretId}",
        PATCH="update_secret",
        DELETE="delete_secret",
    ),
    Route("/cloud/v2/universes/{universeId}:restartServers", POST="restart_servers"),
    Route("/server-management/v1/universes/{universeId}/restarts:forecast", GET="forecast_restart"),
    Route(
        "/server-management/v1/universes/{universeId}/restarts",
        GET="list_restarts",
        POST="launch_restart",
    ),
)
#: The fake's own oracle endpoints (plaintext, game servers), served only with
#: ``FakeOpenCloud(expose_plaintext=True)``.
FAKE_ROUTES: tuple[Route, ...] = (
    Route("/_fake/universes/{universeId}/secrets/{secretId}/plaintext", GET="get_plaintext"),
    Route(
        "/_fake/universes/{universeId}/servers",
        GET="list_game_servers",
        POST="create_game_server",
    ),
    Route(
        "/_fake/universes/{universeId}/servers/{serverId}/http-request",
        POST="resolve_game_request",
    ),
)


class Router:
    """The routes one fake serves: the API's, plus the oracle's when it is exposed."""

    __slots__ = ("routes",)

    def __init__(self, *, expose_plaintext: bool = False) -> None:
        """Serve :data:`ROUTES`, and :data:`FAKE_ROUTES` too if ``expose_plaintext``."""
        self.routes: tuple[Route, ...] = ROUTES + (FAKE_ROUTES if expose_plaintext else ())

    def __repr__(self) -> str:
        """Show the templates served."""
        return f"Router({[r.template for r in self.routes]})"

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """The operation for ``method`` and ``path``, and the path's parameters.

        Raises
        ------
        NotFound
            If no route matches the path.
        MethodNotAllowed
            If routes match the path but none serves the method.
        """
        allowed: set[str] = set()
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            operation = route.methods.get(method)
            if operation is not None:
                return operation, match.groupdict()
            allowed.update(route.methods)
        if allowed:
            raise MethodNotAllowed(method, sorted(allowed))
        raise NotFound("no such path")
