"""What a ``luau_game`` test costs next to a plain ``fake_open_cloud`` test.

Times, side by side and alternating (so drift and other load hit both alike):

(a) the ``fake_open_cloud`` fixture's work: build a fake with one universe and an API key,
    serve it on loopback, stop it;
(b) the ``luau_game`` fixture's work plus one small script: the same, plus a secret, a game
    server, a fresh sandboxed Luau VM with the engine bound, a script that reads the secret
    and sends one request through ``RequestAsync`` (answered by the test's responder), and
    closing the VM.

Both call the plugin's own builder (``fakeserver.pytest_plugin._build``), so they measure what
the fixtures do. Prints the medians and the ratio (b)/(a); target: under 3x, so that a VM per
test stays cheap enough to use in every test. Timing is never asserted in tests.

pluau prints "Lua VM is being closed" on stdout (from Rust, fd 1) whenever a VM is dropped;
the timed loop sends fd 1 to /dev/null so the report stays readable.

Usage::

    python bench/luau_game.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator

from fakeserver.luau import LuauGame
from fakeserver.pytest_plugin import _build

SCRIPT = """
local HttpService = game:GetService("HttpService")
local key = HttpService:GetSecret("API_KEY"):AddPrefix("Bearer ")
local response = HttpService:RequestAsync({
    Url = "https://api.example.com/v1/ping",
    Headers = { Authorization = key },
})
return response.StatusCode
"""


def plain() -> float:
    """Seconds for the ``fake_open_cloud`` fixture's set-up and tear-down."""
    started = time.perf_counter()
    handle = _build()
    assert handle.server is not None
    handle.server.stop()
    return time.perf_counter() - started


def with_luau() -> float:
    """Seconds for the ``luau_game`` fixture's set-up and tear-down plus one small script."""
    started = time.perf_counter()
    handle = _build()
    fake, universe = handle.fake, handle.universe_id
    fake.put_secret(universe, "API_KEY", "k3y", domain="api.example.com")
    game = LuauGame(fake.start_server(universe), fake=fake, game_id=universe)
    game.respond_with(200, body="pong")
    status = game.run(SCRIPT)
    game.close()
    assert handle.server is not None
    handle.server.stop()
    elapsed = time.perf_counter() - started
    assert status == 200 and game.requests[0].headers["Authorization"] == "Bearer k3y"
    return elapsed


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200, help="pairs of runs (default 200)")
    args = parser.parse_args(argv)
    a: list[float] = []
    b: list[float] = []
    with _quiet_stdout():
        plain(), with_luau()  # warm-up: imports, first VM
        for _ in range(args.rounds):
            a.append(plain())
            b.append(with_luau())
    med_a, med_b = statistics.median(a), statistics.median(b)
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.rounds} pairs")
    print(f"{'':40} {'median':>10}")
    print(f"{'(a) fake_open_cloud fixture':40} {med_a * 1000:8.2f} ms")
    print(f"{'(b) luau_game fixture + one script':40} {med_b * 1000:8.2f} ms")
    print(f"ratio (b)/(a): {med_b / med_a:.2f}x (target: under 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
