"""``LuauGame``: a game's own Luau scripts running on one of the fake's game servers."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LuauError, LuauValueError
from .engine import Runtime, chunk_name
from .kinds import ENUMS, Response
from .members import member
from .rojo import Instance, load_project, plain_tree
from .tasks import Scheduler
from .values import PyValue, to_luau, to_python
from .vm import Limits

if TYPE_CHECKING:
    from ..backend.gameservers import GameServer, OutgoingRequest
    from ..backend.occupancy import RestartScheduled
    from ..cloud import FakeOpenCloud

__all__ = ["LuauGame", "Responder"]

#: A test's answer to every request game code sends.
Responder = Callable[["OutgoingRequest"], "Response | tuple[int, Mapping[str, str], str]"]

#: How long before a server's shut-down its BindToClose handlers run, in advance().
_BEFORE_CLOSING = 0.001
_POSITION = re.compile(r"^[^\s:][^:\n]*:\d+: ")
_FRAME = re.compile(r"^\s*([^\[\s][^:\n]*:\d+):")


class _Clock:
    """A clock of the game's own, for a game not given a fake to take time from."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


class LuauGame:
    """Game code on one of the fake's game servers, in a fresh sandboxed Luau VM.

    Parameters
    ----------
    server:
        A server from ``fake.start_server(universe_id)``: its secrets are the ones
        ``HttpService:GetSecret`` sees, its rules the ones every request must pass.
    project:
        A Rojo project (folder or ``*.project.json``) whose instances scripts reach through
        ``game``, ``script`` and ``require``; without one, the services are empty.
    fake:
        The ``FakeOpenCloud`` the server belongs to: ``task.wait`` then moves its clock.
    studio, local_secrets:
        Run as a Studio playtest: ``RunService:IsStudio()`` is true and ``GetSecret`` answers
        from ``local_secrets`` (``{name: (value, domain)}``), as Studio's local secrets do.
    client:
        Run as a LocalScript, where ``GetSecret`` fails with Roblox's message.
    http_enabled:
        ``HttpService.HttpEnabled`` (default: the server's, which is ``True``).
    game_id:
        ``game.GameId`` (the universe id).
    limits:
        Memory and time for each run.

    Examples
    --------
    >>> from fakeserver import FakeOpenCloud
    >>> fake = FakeOpenCloud()
    >>> universe = fake.add_universe().universe_id
    >>> _ = fake.put_secret(universe, "API_KEY", "k3y", domain="api.example.com")
    >>> with LuauGame(fake.start_server(universe), fake=fake) as game:
    ...     game.respond_with(200, body="ok")
    ...     game.run(
    ...         'local Http = game:GetService("HttpService")\\n'
    ...         'local key = Http:GetSecret("API_KEY"):AddPrefix("Bearer ")\\n'
    ...         'print(key)\\n'
    ...         'return Http:GetAsync("https://api.example.com/", false, {Authorization = key})'
    ...     )
    ...     game.requests[0].headers, game.output
    'ok'
    ({'Authorization': 'Bearer k3y'}, ['Bearer Secret(API_KEY)'])
    """

    def __init__(
        self,
        server: GameServer,
        project: str | Path | None = None,
        *,
        fake: FakeOpenCloud | None = None,
        studio: bool = False,
        local_secrets: Mapping[str, tuple[str, str | None]] | None = None,
        client: bool = False,
        http_enabled: bool | None = None,
        game_id: int = 0,
        limits: Limits | None = None,
    ) -> None:
        """Load the project (``RojoProjectError`` for a bad one) and create the VM."""
        # A bad project raises RojoProjectError, a LuauError.
        self._game: Instance = load_project(project) if project is not None else plain_tree()
        if studio:
            server = server.with_local_secrets(local_secrets or {})
        if http_enabled is not None:
            server.http_enabled = http_enabled
        self.server = server
        #: The fixture's ``FakeOpenCloudHandle`` (``luau_game`` and ``luau_game_factory`` set it;
        #: typed loosely, since the plugin builds on this module), else ``None``.
        self.cloud: Any = None
        self.requests: list[OutgoingRequest] = []
        self.output: list[str] = []
        self._responder: Responder | None = None
        self._handler_error: Exception | None = None
        if fake is not None:
            clock, advance = fake.backend.clock, fake.advance
        else:
            own = _Clock()
            clock, advance = own, own.advance
        self._scheduler = Scheduler(clock, advance)
        self._runtime = Runtime(
            server,
            self._game,
            scheduler=self._scheduler,
            member=member,
            output=self._write,
            limits=limits or Limits(),
            studio=studio,
            client=client,
            game_id=game_id,
        )
        self._runtime.send = self._send
        self._closed = False
        self._exhausted = False
        self._shut_down = False
        # Restart notices arrive in the thread that launched the restart (the fake's HTTP
        # server, usually); they wait here until the game next runs code, in this thread.
        self._notices: list[RestartScheduled] = []
        self._disconnect = server.on_restart_scheduled(self._notices.append)

    def __repr__(self) -> str:
        """The server and counts; never a value."""
        return (
            f"LuauGame(server={self.server.id!r}, requests={len(self.requests)}, "
            f"output_lines={len(self.output)})"
        )

    # ----------------------------------------------------------------- answering requests

    def respond(self, handler: Responder) -> None:
        """Answer every request with ``handler(request)``: a :class:`Response` or a
        ``(status, headers, body)`` tuple. Without a handler a request fails like a network
        error (``HttpError: ConnectFail``); nothing ever leaves the machine."""
        self._responder = handler

    def respond_with(
        self, status: int = 200, headers: Mapping[str, str] | None = None, body: str = ""
    ) -> None:
        """Answer every request with the same response."""
        response = Response(status, dict(headers or {}), body)
        self.respond(lambda request: response)

    def _send(self, request: OutgoingRequest) -> Response | None:
        """The test's answer to ``request`` (``None`` without a responder)."""
        self.requests.append(request)
        if self._responder is None:
            return None
        try:
            answer = self._responder(request)
        except Exception as exc:  # noqa: BLE001  re-raised by the run, with its traceback
            self._handler_error = exc
            raise self._runtime.error("HttpError: the test's respond handler raised") from None
        if isinstance(answer, Response):
            return answer
        status, headers, body = answer
        return Response(int(status), dict(headers), str(body))

    def _write(self, kind: str, line: str) -> None:
        self.output.append(line if kind == "print" else f"[warn] {line}")

    # ----------------------------------------------------------------- running

    def run(self, source: str, name: str = "script") -> PyValue:
        """Run ``source`` as a server Script named ``name`` (in ServerScriptService) and
        return what it returns: ``None``, one value, or a tuple of several.

        Raises
        ------
        LuauError
            One line naming the script, the line and the problem.
        """
        __tracebackhide__ = True
        self._check_open()
        parent = self._runtime.service("ServerScriptService")
        script = Instance(name, "LocalScript" if self._runtime.client else "Script")
        script.parent = parent  # not a child: other scripts cannot find an ad-hoc script
        return self._execute(source, name, script)

    def run_file(self, path: str | Path) -> PyValue:
        """Run the file at ``path`` as a server Script (the project's instance when it is one)."""
        __tracebackhide__ = True
        self._check_open()
        file = Path(path)
        for instance in self._game.descendants():
            if instance.path is not None and instance.path.resolve() == file.resolve():
                return self._run_script(instance)
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LuauError(f"{file}: cannot read the script ({exc})") from None
        script = Instance(file.name.split(".")[0], "Script", path=file)
        script.parent = self._runtime.service("ServerScriptService")
        return self._execute(source, chunk_name(script), script)

    def run_instance(self, path: str) -> PyValue:
        """Run the project's Script at instance path ``path`` (``"ServerScriptService.Main"``)."""
        __tracebackhide__ = True
        self._check_open()
        instance = self._game.find(path)
        if instance is None:
            raise LuauError(f"{path}: no such instance in the project")
        return self._run_script(instance)

    def _run_script(self, instance: Instance) -> PyValue:
        __tracebackhide__ = True
        wanted = "LocalScript" if self._runtime.client else "Script"
        if instance.class_name != wanted:
            hint = (
                " (client=True runs LocalScripts)" if instance.class_name == "LocalScript" else ""
            )
            raise LuauError(
                f"{instance.full_name()}: a {instance.class_name}, not a {wanted}{hint}"
            )
        try:
            source = instance.source()
        except (OSError, UnicodeDecodeError) as exc:
            raise LuauError(f"{instance.path}: cannot read the script ({exc})") from None
        return self._execute(source, chunk_name(instance), instance)

    def _execute(self, source: str, name: str, script: Instance) -> PyValue:
        __tracebackhide__ = True
        self._check_open()
        self._deliver_notices()
        rt = self._runtime
        rt.time_limit.start()
        thread = None
        try:
            function = rt.load(source, name, script)
            thread = rt.lua.create_thread(function)
            results = self._scheduler.run_until_done(thread, self._scheduler.resume(thread))
        except RuntimeError as exc:
            if thread is not None:
                thread.close()  # its stack (and whatever filled the memory) can then be freed
            raise self._failure(str(exc), name) from None
        self._reraise_handler_error()
        return self._results(results, name)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward, running every task that falls due on the way.

        When the server's shut-down (after a restart's bleed-off) falls inside, the
        ``BindToClose`` handlers run just before it, while the server may still send.
        """
        __tracebackhide__ = True
        self._check_open()
        self._deliver_notices()
        self._runtime.time_limit.start()
        target = self._scheduler.now() + seconds
        closes = self.server.closes_at
        try:
            if closes is not None and not self._shut_down and closes <= target:
                self._scheduler.run_due(max(self._scheduler.now(), closes - _BEFORE_CLOSING))
                self._run_close_handlers()
            self._scheduler.run_due(target)
        except RuntimeError as exc:
            raise self._failure(str(exc), "game code") from None
        self._reraise_handler_error()

    def _deliver_notices(self) -> None:
        """Fire ``game.ServerRestartScheduled(restartTime, reason, attributes)`` for each
        restart notice the server received since the game last ran code."""
        rt = self._runtime
        while self._notices:
            notice = self._notices.pop(0)
            reasons = ENUMS["CloseReason"]
            reason = rt.wrap(reasons.get(notice.source, reasons["Unknown"]))
            attributes = to_luau(rt.lua, dict(notice.attributes))
            self._fire("ServerRestartScheduled", notice.restart_time, reason, attributes)

    def shut_down(self) -> None:
        """Run the ``game:BindToClose`` handlers (once), as a server that closes does."""
        __tracebackhide__ = True
        self._check_open()
        self._deliver_notices()
        self._runtime.time_limit.start()
        try:
            self._run_close_handlers()
        except RuntimeError as exc:
            raise self._failure(str(exc), "game code") from None
        self._reraise_handler_error()

    def _run_close_handlers(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        rt = self._runtime
        for handler in list(rt.close_handlers):
            thread = rt.lua.create_thread(handler)
            self._scheduler.run_until_done(thread, self._scheduler.resume(thread))

    def __enter__(self) -> LuauGame:
        """``with LuauGame(...) as game:`` closes the game at the end of the block."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the game."""
        self.close()

    def close(self) -> None:
        """Release the VM (the fixtures do this; otherwise call it, or use ``with``): the VM
        and the Python objects it calls hold each other, so only this frees them. The game
        cannot run code afterwards."""
        if not self._closed:
            self._closed = True
            self._disconnect()
            # The VM holds Python callbacks that hold the runtime, which holds the VM: a cycle
            # Python's collector cannot see into. Dropping every handle frees the VM now.
            self._runtime.release()
            self._scheduler.clear()
            self._runtime = None  # type: ignore[assignment]

    def _fire(self, signal: str, *args: object) -> None:
        self._check_open()
        rt = self._runtime
        rt.time_limit.start()

        def schedule(handler: object, values: tuple[object, ...]) -> None:
            thread = rt.lua.create_thread(handler)
            self._scheduler.park(thread, 0.0, values)

        rt.signals[signal].fire(schedule, *args)
        try:
            self._scheduler.run_due()
        except RuntimeError as exc:
            raise self._failure(str(exc), "game code") from None
        self._reraise_handler_error()

    def _check_open(self) -> None:
        __tracebackhide__ = True
        if self._closed:
            raise RuntimeError("this LuauGame is closed")
        if self._exhausted:
            raise LuauError(
                "this game's VM ran out of memory in an earlier run; start a new LuauGame"
            )

    def _failure(self, message: str, script: str) -> LuauError:
        """The error a failed run raises: the responder's or the fake's own exception when
        there is one (raised here, with its traceback), else the one-line ``LuauError``."""
        __tracebackhide__ = True
        self._reraise_handler_error()
        return LuauError(self._one_line(message, script))

    def _reraise_handler_error(self) -> None:
        """Raise what the test's responder, or the fake itself, raised during the run."""
        error, self._handler_error = self._handler_error, None
        bug, self._runtime.bug = self._runtime.bug, None
        if error is not None or bug is not None:
            raise error or bug  # type: ignore[misc]

    def _results(self, results: list[object], name: str) -> PyValue:
        try:
            values = [to_python(value) for value in results]
        except LuauValueError as exc:
            raise LuauError(
                f"{name}: the script returned a value Python cannot hold: {exc}"
            ) from None
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    def _one_line(self, message: str, script: str) -> str:
        """pluau's message and traceback as one line: ``file:line: problem``."""
        head, _, trace = message.partition("\nstack traceback:")
        kind, _, text = head.partition(" error: ")
        if not _:
            kind, text = "runtime", head
        frame = next(
            (
                m.group(1)
                for m in map(_FRAME.match, trace.splitlines())
                if m and not m.group(1).startswith("prelude")
            ),
            None,
        )
        text = " ".join(text.split("\n"))
        limits = self._runtime.limits
        if self._runtime.time_limit.exceeded:
            text = f"time limit of {limits.seconds:g} s exceeded (an endless loop?)"
        elif kind == "memory":
            # Luau does not give the memory back here (its sandbox forbids a full collection),
            # so the VM stays full: later runs say so instead of failing at random.
            self._exhausted = True
            text = f"memory limit of {limits.memory_bytes // (1024 * 1024)} MB exceeded"
        if kind == "syntax":
            position = _POSITION.match(text)
            if position:
                return f"{position.group(0)}syntax error: {text[position.end() :]}"
            return f"syntax error: {text}"
        if _POSITION.match(text):
            return text
        if frame is None:
            return f"{script}: {text}"
        return f"{frame}: {text}"
