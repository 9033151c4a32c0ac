"""Benchmark the fake's loopback server against moto and a bare standard-library server.

Run ``python bench/fake_server.py`` (``--quick`` for a short run). It prints two tables from one
run on one machine:

(a) lifecycle: the median time to start a server, answer its first request through
    ``requests`` and stop it; ``FakeServer`` (with a fresh ``FakeOpenCloud``, one universe and
    an API key, answering ``GET .../secrets/public-key``) beside moto's ``ThreadedMotoServer``
    (answering a Secrets Manager ``ListSecrets``). One untimed warm-up run each, so neither
    pays for its imports.
(b) throughput: creates per second from one ``requests.Session`` over keep-alive, every value
    sealed beforehand with the universe's public key and really opened by the server; beside
    a bare ``http.server`` HTTP/1.1 handler that only parses the JSON and opens the box (the
    floor: the least any server must do), and beside moto's Secrets Manager ``CreateSecret``
    with the same values in ``SecretString``. Requests to moto are unsigned: moto does not
    check SigV4 signatures, and signing would only add client time to moto's column.

All three servers run in this process on a thread, as ``ThreadedMotoServer`` does, and every
request body is serialized before timing starts, so the columns differ only by the server.
Throughput rounds are short and taken in turn (fake, bare, moto, fake, ...); each ratio is the
median of the per-round ratios, which keeps load elsewhere on the machine from favouring one
column. Ratios, not absolute numbers, are the point: the tests never assert on timing.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import platform
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import requests
from nacl.public import PrivateKey, PublicKey, SealedBox

from fakeserver import FakeOpenCloud, FakeServer

# SigV4's credential scope is how moto's server picks the service; the signature is not checked.
AWS_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-target, Signature=" + "0" * 64
)
JSON = {"Content-Type": "application/json"}
PER_UNIVERSE = 500  # the API's limit of secrets per universe


def _value(i: int) -> str:
    """A secret value of a typical size (an API token)."""
    return f"tok_{i:06d}_" + secrets.token_hex(12)


# --------------------------------------------------------------------------- (a) lifecycle


def lifecycle_fake() -> float:
    """Seconds to build a fake, start its server, answer GET public-key and stop."""
    started = time.perf_counter()
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    with FakeServer(fake) as server:
        response = requests.get(
            f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets/public-key",
            headers=key.headers,
            timeout=10,
        )
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed


def lifecycle_moto() -> float:
    """Seconds to start ThreadedMotoServer, answer ListSecrets and stop."""
    from moto.server import ThreadedMotoServer

    started = time.perf_counter()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    response = requests.post(
        f"http://{host}:{port}/",
        data=b"{}",
        headers={
            "X-Amz-Target": "secretsmanager.ListSecrets",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": AWS_AUTH,
        },
        timeout=10,
    )
    server.stop()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed


# --------------------------------------------------------------------------- (b) throughput


def _timed_posts(
    session: requests.Session,
    requests_: list[tuple[str, bytes]],
    headers: dict[str, str],
    expect: int,
) -> float:
    """POST every (url, body) in order; return creates per second."""
    post = session.post
    started = time.perf_counter()
    for url, body in requests_:
        response = post(url, data=body, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"unexpected status {response.status_code}: {response.text[:200]}")
    return len(requests_) / (time.perf_counter() - started)


def _create_bodies(
    base: str, universes: list[tuple[int, str, str]], count: int
) -> tuple[list[tuple[str, bytes]], dict[tuple[int, str], str]]:
    """Sealed create requests spread over ``universes`` (id, key_id, public key)."""
    bodies: list[tuple[str, bytes]] = []
    expected: dict[tuple[int, str], str] = {}
    for i in range(count):
        universe_id, key_id, public_key = universes[i // PER_UNIVERSE]
        box = SealedBox(PublicKey(base64.b64decode(public_key)))
        value = _value(i)
        secret_id = f"secret_{i}"
        sealed = base64.b64encode(box.encrypt(value.encode())).decode("ascii")
        body = json.dumps({"id": secret_id, "secret": sealed, "key_id": key_id}).encode()
        bodies.append((f"{base}/cloud/v2/universes/{universe_id}/secrets", body))
        expected[(universe_id, secret_id)] = value
    return bodies, expected


def throughput_fake(count: int) -> float:
    """Creates per second against FakeServer, checking decrypted values afterwards."""
    fake = FakeOpenCloud()
    universes = [fake.add_universe() for _ in range(-(-count // PER_UNIVERSE) + 1)]
    key = fake.add_api_key()
    with FakeServer(fake) as server, requests.Session() as session:
        session.headers.update(key.headers)
        warm = universes.pop()
        listing = [(u.universe_id, u.key_id, u.public_key) for u in universes]
        bodies, expected = _create_bodies(server.url, listing, count)
        warm_bodies, _ = _create_bodies(
            server.url, [(warm.universe_id, warm.key_id, warm.public_key)], 20
        )
        _timed_posts(session, warm_bodies, JSON, 201)
        rate = _timed_posts(session, bodies, JSON, 201)
    for (universe_id, secret_id), value in expected.items():
        if fake.plaintext(universe_id, secret_id) != value:
            raise RuntimeError("the fake stored a different value than was sealed")
    return rate


class _BareHandler(BaseHTTPRequestHandler):
    """The floor: parse the JSON, open the box, answer 201. No validation, no state."""

    protocol_version = "HTTP/1.1"
    # Buffered writes: handle_one_request flushes once, so the response leaves in one send
    # instead of meeting the client's delayed ACK between headers and body.
    wbufsize = -1
    boxes: ClassVar[dict[int, SealedBox[Any]]] = {}
    opened: ClassVar[int] = 0

    def do_POST(self) -> None:
        """Open the sealed value and answer like the create endpoint."""
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        universe_id = int(self.path.split("/")[4])
        self.boxes[universe_id].decrypt(base64.b64decode(body["secret"])).decode("utf-8")
        type(self).opened += 1
        stamp = "2026-01-01T00:00:00.000Z"
        out = json.dumps(
            {
                "id": body["id"],
                "domain": None,
                "key_id": body["key_id"],
                "create_time": stamp,
                "update_time": stamp,
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet, as the fake's server does without a logger."""


def throughput_bare(count: int) -> float:
    """Creates per second against the bare standard-library server."""
    universes = []
    _BareHandler.boxes = {}
    for n in range(-(-count // PER_UNIVERSE) + 1):
        private = PrivateKey.generate()
        universe_id = 1000 + n
        _BareHandler.boxes[universe_id] = SealedBox(private)
        universes.append((universe_id, "1", base64.b64encode(bytes(private.public_key)).decode()))
    _BareHandler.opened = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BareHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with requests.Session() as session:
            warm = universes.pop()
            bodies, _ = _create_bodies(base, universes, count)
            warm_bodies, _ = _create_bodies(base, [warm], 20)
            _timed_posts(session, warm_bodies, JSON, 201)
            rate = _timed_posts(session, bodies, JSON, 201)
    finally:
        server.shutdown()
        server.server_close()
    if _BareHandler.opened != count + 20:
        raise RuntimeError("the bare server did not open every box")
    return rate


def throughput_moto(count: int, round_number: int) -> float:
    """CreateSecret calls per second against ThreadedMotoServer, same values, same session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}/"
    headers = {
        "X-Amz-Target": "secretsmanager.CreateSecret",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": AWS_AUTH,
    }
    # moto keeps its backends for the whole process: names must be new in every round.
    prefix = f"r{round_number}_{secrets.token_hex(4)}"
    bodies = [
        (url, json.dumps({"Name": f"{prefix}_secret_{i}", "SecretString": _value(i)}).encode())
        for i in range(count)
    ]
    warm = [
        (url, json.dumps({"Name": f"{prefix}_warm_{i}", "SecretString": _value(i)}).encode())
        for i in range(20)
    ]
    try:
        with requests.Session() as session:
            _timed_posts(session, warm, headers, 200)
            rate = _timed_posts(session, bodies, headers, 200)
            last = session.post(*warm[0], headers=headers)
    finally:
        server.stop()
    _moto_connection_header.append(last.headers.get("Connection", ""))
    return rate


# What moto's server said about keep-alive, for the report.
_moto_connection_header: list[str] = []


# --------------------------------------------------------------------------- report


def _median(runs: int, measure: Callable[[], float]) -> float:
    """Median of ``runs`` measurements after one untimed warm-up."""
    measure()
    return statistics.median(measure() for _ in range(runs))


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print the tables; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and creates")
    parser.add_argument("--creates", type=int, help="creates per throughput round")
    parser.add_argument("--rounds", type=int, help="throughput rounds per server")
    args = parser.parse_args(argv)
    creates = args.creates or (500 if args.quick else 1000)
    rounds = args.rounds or (3 if args.quick else 7)
    fake_runs, moto_runs = (10, 3) if args.quick else (40, 7)

    # moto's werkzeug server logs every request at INFO; the fake's server logs nothing.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print(
        f"python {platform.python_version()} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs; servers run on threads of this process"
    )

    fake_life = _median(fake_runs, lifecycle_fake)
    moto_life = _median(moto_runs, lifecycle_moto)

    rates: dict[str, list[float]] = {"fake": [], "bare": [], "moto": []}
    for round_number in range(rounds):
        # Short rounds in turn, so that a burst of load elsewhere on the machine lands on
        # every server alike; ratios are taken within a round, then the median round wins.
        rates["fake"].append(throughput_fake(creates))
        rates["bare"].append(throughput_bare(creates))
        rates["moto"].append(throughput_moto(creates, round_number))
    fake_rate, bare_rate, moto_rate = (
        statistics.median(rates[k]) for k in ("fake", "bare", "moto")
    )
    vs_bare = statistics.median(f / b for f, b in zip(rates["fake"], rates["bare"], strict=True))
    vs_moto = statistics.median(f / m for f, m in zip(rates["fake"], rates["moto"], strict=True))

    life_ratio = moto_life / fake_life
    print()
    print("(a) start, answer the first request, stop (median)")
    print(f"    {'server':<44}{'runs':>6}{'median ms':>12}{'this / fake':>14}")
    print(
        f"    {'fakeserver.FakeServer (GET public-key)':<44}{fake_runs:>6}"
        f"{fake_life * 1000:>12.2f}{'1.0':>14}"
    )
    print(
        f"    {'moto ThreadedMotoServer (ListSecrets)':<44}{moto_runs:>6}"
        f"{moto_life * 1000:>12.2f}{life_ratio:>14.0f}"
    )
    print(
        f"    fake is {life_ratio:.0f}x faster than moto   "
        f"[target >= 30x: {'met' if life_ratio >= 30 else 'NOT met'}]"
    )

    print()
    print(
        f"(b) creates per second, one requests.Session, keep-alive, real decryption "
        f"({creates} creates x {rounds} rounds; medians)"
    )
    print(f"    {'server':<44}{'creates/s':>12}{'fake / this':>14}  (median of per-round ratios)")
    print(f"    {'fakeserver (validates, stores, journals)':<44}{fake_rate:>12.0f}{'1.00':>14}")
    print(
        f"    {'bare http.server HTTP/1.1 (only opens box)':<44}{bare_rate:>12.0f}{vs_bare:>14.2f}"
    )
    print(f"    {'moto Secrets Manager CreateSecret':<44}{moto_rate:>12.0f}{vs_moto:>14.2f}")
    print(
        f"    fake = {vs_moto:.2f}x moto   [target >= 2.5x: "
        f"{'met' if vs_moto >= 2.5 else 'NOT met'}]"
    )
    print(
        f"    fake = {vs_bare:.0%} of the bare server   [target >= 85%: "
        f"{'met' if vs_bare >= 0.85 else 'NOT met'}]"
    )
    if "close" in {h.lower() for h in _moto_connection_header}:
        print(
            "    (moto's werkzeug server answers with Connection: close, so its session opens "
            "a new connection for every request)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
