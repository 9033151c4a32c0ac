"""The ``rbx-fakeserver`` command line (also ``python -m fakeserver``).

Serves a fresh :class:`~fakeserver.cloud.FakeOpenCloud` on loopback until Ctrl-C or SIGTERM.
The first stdout line is JSON with ``url``, ``universe_ids`` and ``api_key``, for a parent
process to read; then one line per request, written by a thread of its own so a parent that
stops reading never stalls the fake.

A chosen API key comes from ``--api-key-file`` or ``$FAKESERVER_API_KEY``: a process's command
line is readable by every local user (``ps``), so ``--api-key`` still works but warns.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import queue
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

from .backend.ratelimit import checked_rate_limit

__all__ = ["ENV_API_KEY", "main"]

#: Where the command line takes a chosen API key from when no option gives one.
ENV_API_KEY = "FAKESERVER_API_KEY"


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {str(info[4][0]) for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses
    )


def _rate_limit(text: str) -> tuple[int, float]:
    """Parse ``N/SECONDS`` (e.g. ``120/60``) for ``--rate-limit``; both finite and positive."""
    count, sep, window = text.partition("/")
    try:
        if not sep:
            raise ValueError("no slash")
        return checked_rate_limit(int(count), float(window))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected N/SECONDS with a whole N >= 1 and a finite SECONDS > 0, e.g. 120/60"
        ) from None


def _printable(text: str) -> str:
    """Escape control characters so a hostile path cannot rewrite the terminal."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def _parser() -> argparse.ArgumentParser:
    """The command line's argument parser."""
    parser = argparse.ArgumentParser(
        prog="rbx-fakeserver",
        description=(
            "Serve a decrypting fake of the Roblox Open Cloud secrets store on loopback. "
            "The first stdout line is JSON with url, universe_ids and api_key; then one line "
            "per request. Ctrl-C or SIGTERM stops it."
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; loopback only unless --allow-remote)",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a --host that is not a loopback address"
    )
    parser.add_argument(
        "--universe-id",
        type=int,
        action="append",
        dest="universe_ids",
        metavar="ID",
        help="a universe to create (repeatable; one generated if absent)",
    )
    key = parser.add_mutually_exclusive_group()
    key.add_argument(
        "--api-key-file",
        type=Path,
        metavar="PATH",
        help=f"read the API key to accept from PATH (default: ${ENV_API_KEY}, else a generated "
        "one); it has read and write on every universe",
    )
    key.add_argument(
        "--api-key",
        help="the API key to accept, on the command line (every local user can read it there: "
        f"prefer --api-key-file or ${ENV_API_KEY})",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        metavar="N/SECONDS",
        help="turn rate limiting on, e.g. 120/60",
    )
    parser.add_argument(
        "--expose-plaintext",
        action="store_true",
        help="serve the /_fake/ routes: GET /_fake/universes/{universeId}/"
        "secrets/{secretId}/plaintext, and game servers under "
        "/_fake/universes/{universeId}/servers (off: those paths are 404s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake server from the command line until Ctrl-C or SIGTERM; return 0.

    Exits with status 2 on a bad argument, including a non-loopback ``--host`` without
    ``--allow-remote``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.allow_remote and not _is_loopback(args.host):
        print(
            f"rbx-fakeserver: refusing to listen on {args.host!r}, which is not a loopback "
            "address; pass --allow-remote to allow it",
            file=sys.stderr,
        )
        return 2

    try:
        chosen_key = _chosen_api_key(args)
    except OSError as exc:
        print(
            f"rbx-fakeserver: cannot read --api-key-file {args.api_key_file}: "
            f"{exc.strerror or type(exc).__name__}",
            file=sys.stderr,
        )
        return 2

    # Imported here: --help and argument errors need neither PyNaCl nor the server.
    from .cloud import FakeOpenCloud

    fake = FakeOpenCloud(rate_limit=args.rate_limit, expose_plaintext=args.expose_plaintext)
    try:
        universe_ids = [fake.add_universe(u).universe_id for u in (args.universe_ids or [None])]
        api_key = fake.add_api_key(key=chosen_key)
    except ValueError as exc:
        # The backend's messages name the rule, never the rejected key.
        print(f"rbx-fakeserver: {exc}", file=sys.stderr)
        return 2
    if args.api_key is not None:
        print(
            "rbx-fakeserver: warning: --api-key puts the key in the process list, where every "
            f"local user can read it; use --api-key-file PATH or ${ENV_API_KEY} instead",
            file=sys.stderr,
            flush=True,
        )

    log = _LogWriter(sys.stdout.fileno())

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        server = fake.serve(args.host, args.port, on_request=log).start()
    except OSError as exc:
        print(
            f"rbx-fakeserver: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    ready = {"url": server.url, "universe_ids": universe_ids, "api_key": api_key.key}
    print(json.dumps(ready), flush=True)
    # Only now: lines of requests that raced the first line wait in the queue until it is out.
    log.start()
    try:
        while not stop.wait(1.0):
            # Errors in server threads are the fake's bugs: show them, keep serving.
            _report(server.take_errors())
    finally:
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001  the client already got a 500; report, exit 0
            _report(list(getattr(exc, "exceptions", [exc])))
        log.close()
    return 0


def _chosen_api_key(args: argparse.Namespace) -> str | None:
    """The key from ``--api-key-file``, ``--api-key`` or the environment.

    A file's one line is taken without its line ending; ``None`` means "generate one".
    """
    if args.api_key_file is not None:
        return str(args.api_key_file.read_text(encoding="utf-8")).removesuffix("\n")
    if args.api_key is not None:
        return str(args.api_key)
    return os.environ.get(ENV_API_KEY) or None


class _LogWriter:
    """The command line's request log: one stdout line per request, written by its own thread.

    Server threads only queue lines. A parent that reads the first line and then never drains
    the pipe must not stall the fake once the pipe buffer is full, so lines beyond the queue's
    bound are dropped, and a closed pipe just ends the logging. The thread writes to the file
    descriptor, not through ``sys.stdout``, so that if it is stuck on a full pipe at exit it
    holds no lock the interpreter needs to shut down.
    """

    def __init__(self, fd: int, limit: int = 10_000) -> None:
        """Queue lines for file descriptor ``fd``; nothing is written before ``start()``."""
        self._fd = fd
        self._queue: queue.Queue[str | None] = queue.Queue(limit)
        self._thread = threading.Thread(target=self._run, name="fakeserver-log", daemon=True)
        self.dropped = 0

    def __call__(self, method: str, path: str, status: int | None, seconds: float) -> None:
        """Queue the line for one request (the ``FakeServer.on_request`` signature)."""
        shown = "dropped" if status is None else str(status)
        line = f"{_printable(method)} {_printable(path)} {shown} {seconds * 1000:.2f}ms\n"
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def start(self) -> None:
        """Start writing queued lines."""
        self._thread.start()

    def close(self, timeout: float = 0.5) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds) and stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        """Write lines in batches until ``close()`` or until the reader goes away."""
        while True:
            batch = [self._queue.get()]
            while len(batch) < 256:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            data = memoryview("".join(line for line in batch if line is not None).encode())
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:
                return  # BrokenPipeError included: nobody reads the log any more
            if None in batch:
                return


def _report(errors: Sequence[BaseException]) -> None:
    """Tell stderr where the fake raised, without the message (it could quote a request)."""
    for exc in errors:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        print(
            f"rbx-fakeserver: {type(exc).__name__} in a server thread{where}; the client got a 500",
            file=sys.stderr,
            flush=True,
        )
