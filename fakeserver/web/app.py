"""The WSGI app: parse a request, call one backend operation, encode the answer.

Every rule lives behind :class:`~fakeserver.backend.state.SecretsBackend` (in
:mod:`fakeserver.backend.rules`), which raises the typed errors of :mod:`fakeserver.errors`; this
module turns them into responses. Scripted faults and the journal are middleware around it
(:mod:`fakeserver.web.faults`, :mod:`fakeserver.web.journal`). It is deliberately framework-free:
the benchmark compares its throughput with a bare standard-library server, so a request costs a few
dictionary look-ups beyond the crypto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..errors import ApiProblem
from .messages import RECEIPT_KEY, Request, json_answer, problem_answer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from ..backend.models import Result
    from ..backend.state import SecretsBackend
    from .routes import Router

__all__ = ["SecretsApp"]

Handler = Callable[[Request], tuple[int, "Result"]]


class SecretsApp:
    """The WSGI application serving a :class:`~fakeserver.backend.SecretsBackend`.

    Parameters
    ----------
    backend:
        The state; the app calls one of its operations per request.
    router:
        The routes served (with or without the oracle's).
    problem_status_as_number:
        Write ProblemDetails ``status`` as a number instead of the schema's string.

    Thread-safe: it keeps no state of its own; the backend's lock guards the rest. Any
    exception other than an :class:`~fakeserver.errors.ApiProblem` is a bug in the fake and
    propagates.
    """

    def __init__(
        self, backend: SecretsBackend, router: Router, *, problem_status_as_number: bool = False
    ) -> None:
        """Serve ``backend`` on ``router``'s routes."""
        self.backend = backend
        self.router = router
        self.problem_status_as_number = problem_status_as_number
        self._handlers: dict[str, Handler] = {
            "get_public_key": self.get_public_key,
            "list_secrets": self.list_secrets,
            "create_secret": self.create_secret,
            "update_secret": self.update_secret,
            "delete_secret": self.delete_secret,
            "restart_servers": self.restart_servers,
            "forecast_restart": self.forecast_restart,
            "launch_restart": self.launch_restart,
            "list_restarts": self.list_restarts,
            "get_plaintext": self.get_plaintext,
            "create_game_server": self.create_game_server,
            "list_game_servers": self.list_game_servers,
            "resolve_game_request": self.resolve_game_request,
        }

    def __repr__(self) -> str:
        """Show the routes served."""
        return f"SecretsApp(routes={[r.template for r in self.router.routes]})"

    # ----------------------------------------------------------------- handlers

    def get_public_key(self, request: Request) -> tuple[int, Result]:
        """``GET .../secrets/public-key``: 200 with the universe's public key."""
        return 200, self.backend.get_public_key(
            auth=request.auth, universe_id=request.params["universeId"]
        )

    def list_secrets(self, request: Request) -> tuple[int, Result]:
        """``GET .../secrets?limit=&maxPageSize=&cursor=``: 200 with one page."""
        query = request.query_params()
        return 200, self.backend.list_secrets(
            auth=request.auth,
            universe_id=request.params["universeId"],
            limit=query.get("limit"),
            max_page_size=query.get("maxPageSize"),
            cursor=query.get("cursor"),
        )

    def create_secret(self, request: Request) -> tuple[int, Result]:
        """``POST .../secrets``: 201 with the new secret's metadata."""
        return 201, self.backend.create_secret(
            auth=request.auth, universe_id=request.params["universeId"], body=request.json_object
        )

    def update_secret(self, request: Request) -> tuple[int, Result]:
        """``PATCH .../secrets/{secretId}``: 200 with the secret's metadata."""
        return 200, self.backend.update_secret(
            auth=request.auth,
            universe_id=request.params["universeId"],
            secret_id=request.params["secretId"],
            body=request.json_object,
        )

    def delete_secret(self, request: Request) -> tuple[int, Result]:
        """``DELETE .../secrets/{secretId}``: 200 with ``{}``."""
        return 200, self.backend.delete_secret(
            auth=request.auth,
            universe_id=request.params["universeId"],
            secret_id=request.params["secretId"],
        )

    def restart_servers(self, request: Request) -> tuple[int, Result]:
        """``POST /cloud/v2/universes/{universeId}:restartServers``: 200 with ``{}``."""
        return 200, self.backend.restart_servers(
            auth=request.auth, universe_id=request.params["universeId"], body=request.json_object
        )

    def forecast_restart(self, request: Request) -> tuple[int, Result]:
        """``GET /server-management/v1/universes/{u}/restarts:forecast``: 200 with the forecast."""
        return 200, self.backend.forecast_restart(
            auth=request.auth, universe_id=request.params["universeId"]
        )

    def launch_restart(self, request: Request) -> tuple[int, Result]:
        """``POST /server-management/v1/universes/{u}/restarts``: 200 with the restart's id."""
        return 200, self.backend.launch_restart(
            auth=request.auth, universe_id=request.params["universeId"], body=request.json_object
        )

    def list_restarts(self, request: Request) -> tuple[int, Result]:
        """``GET /server-management/v1/universes/{u}/restarts``: 200 with every restart."""
        return 200, self.backend.list_restarts(
            auth=request.auth, universe_id=request.params["universeId"]
        )

    def create_game_server(self, request: Request) -> tuple[int, Result]:
        """``POST /_fake/universes/{u}/servers``: 201 with the new server (oracle; opt-in)."""
        return 201, self.backend.create_game_server(
            auth=request.auth, universe_id=request.params["universeId"], body=request.json_object
        )

    def list_game_servers(self, request: Request) -> tuple[int, Result]:
        """``GET /_fake/universes/{u}/servers``: 200 with ``{"servers": [...]}`` (oracle)."""
        return 200, self.backend.list_game_servers(
            auth=request.auth, universe_id=request.params["universeId"]
        )

    def resolve_game_request(self, request: Request) -> tuple[int, Result]:
        """``POST /_fake/universes/{u}/servers/{s}/http-request``: 200 with the request a game
        server would send, values filled in (oracle; opt-in)."""
        return 200, self.backend.resolve_game_request(
            auth=request.auth,
            universe_id=request.params["universeId"],
            server_id=request.params["serverId"],
            body=request.json_object,
        )

    def get_plaintext(self, request: Request) -> tuple[int, Result]:
        """``GET /_fake/.../plaintext``: 200 with ``{"id", "value"}`` (oracle; opt-in)."""
        return 200, self.backend.get_plaintext(
            auth=request.auth,
            universe_id=request.params["universeId"],
            secret_id=request.params["secretId"],
        )

    # ----------------------------------------------------------------- WSGI

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request."""
        request = Request.of(environ, self.router)
        try:
            if request.operation is None:
                assert request.route_error is not None
                raise request.route_error
            status, result = self._handlers[request.operation](request)
            environ[RECEIPT_KEY] = result.receipt
            answer = json_answer(status, result.body, result.receipt.headers)
        except ApiProblem as problem:
            if problem.receipt is not None:
                environ[RECEIPT_KEY] = problem.receipt
            answer = problem_answer(
                problem, request.path, status_as_number=self.problem_status_as_number
            )
        start_response(answer.status, answer.headers)
        return [answer.body]
