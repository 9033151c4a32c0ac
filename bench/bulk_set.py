"""Bulk-setting secrets: the client against the rate-limit bound and against the naive recipe.

Run with ``python bench/bulk_set.py``. Everything talks to ``fakeserver`` over loopback HTTP,
with the rate limit compressed from Roblox's 120 per 60 s to ``--limit`` per ``--window`` s so
a run takes seconds. One run prints two tables:

1. Rate-limited: ``SecretsClient.set_many`` setting N new secrets, beside the bound (N
   requests at the sustained rate, N / rate) and the tighter bound that credits the bucket's
   initial burst ((N + 2 - limit) / rate, counting the list and key requests), and beside the
   naive recipe from Roblox's guide (fetch the key and POST, once per secret, no pacing),
   once as written (429s become failures) and once retrying after ``Retry-After`` (it stalls
   on whole-second waits and spends twice the requests). Targets: the client within 1.15x of
   the bound with zero failures and zero 429s.
2. Rate limit off, ``--latency`` s added to every request: ``set_many`` sequential beside
   ``concurrency=--threads``. Target: concurrency at least 3x faster.
"""

from __future__ import annotations

import argparse
import base64
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from nacl.public import PublicKey as NaclPublicKey
from nacl.public import SealedBox

from fakeserver import FakeOpenCloud
from rbxsecrets_magic import SecretsClient


@dataclass
class Run:
    """One measured way of setting the secrets."""

    name: str
    seconds: float
    ok: int
    failed: int
    requests: int
    throttled: int


def _fresh(rate_limit: tuple[int, float] | None) -> tuple[FakeOpenCloud, int, str]:
    """A fake with one universe and one API key (full bucket)."""
    fake = FakeOpenCloud(rate_limit=rate_limit)
    universe = fake.add_universe()
    return fake, universe.universe_id, fake.add_api_key().key


def _values(count: int) -> dict[str, str]:
    return {f"bench_secret_{i:03d}": f"value-{i}-" + "x" * 40 for i in range(count)}


def _measure(
    name: str,
    rate_limit: tuple[int, float] | None,
    values: dict[str, str],
    work: Callable[[FakeOpenCloud, str, int, str], int],
    latency: float = 0.0,
) -> Run:
    """Serve a fresh fake, time ``work(fake, url, universe_id, key)``, check the plaintexts."""
    fake, universe_id, key = _fresh(rate_limit)
    if latency:
        fake.inject_fault("*", latency=latency, times=10**9)
    with fake.serve() as server:
        started = time.perf_counter()
        failed = work(fake, server.url, universe_id, key)
        seconds = time.perf_counter() - started
    journal = fake.journal
    stored = set(fake.secret_ids(universe_id))
    wrong = [s for s in stored if fake.plaintext(universe_id, s) != values[s]]
    if wrong:
        raise SystemExit(f"{name}: {len(wrong)} secrets hold the wrong value")
    return Run(
        name,
        seconds,
        ok=len(stored),
        failed=failed,
        requests=len(journal),
        throttled=sum(1 for entry in journal if entry.status == 429),
    )


def client_run(
    values: dict[str, str], concurrency: int = 1, default_quota: bool = True
) -> Callable[..., int]:
    """``SecretsClient.set_many``, with the default quota or pacing only from headers."""
    quota: tuple[int, float] | None = (120, 60.0) if default_quota else None

    def work(fake: FakeOpenCloud, url: str, universe_id: int, key: str) -> int:
        with SecretsClient(universe_id, api_key=key, base_url=url, rate_limit=quota) as client:
            results = client.set_many(values, concurrency=concurrency)
        return sum(1 for r in results if not r.ok)

    return work


def naive_run(values: dict[str, str], retry_after: bool) -> Callable[..., int]:
    """The guide's recipe: per secret, GET the public key, seal, POST; no pacing."""

    def work(fake: FakeOpenCloud, url: str, universe_id: int, key: str) -> int:
        base = f"{url}/cloud/v2/universes/{universe_id}/secrets"
        headers = {"x-api-key": key}
        failed = 0

        def call(method: str, target: str, **kwargs: Any) -> requests.Response:
            while True:
                response = requests.request(method, target, headers=headers, timeout=10, **kwargs)
                if response.status_code == 429 and retry_after:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                return response

        for secret_id, value in values.items():
            response = call("GET", f"{base}/public-key")
            if response.status_code != 200:
                failed += 1
                continue
            public = response.json()
            box = SealedBox(NaclPublicKey(base64.b64decode(public["secret"])))
            sealed = base64.b64encode(box.encrypt(value.encode())).decode()
            body = {"id": secret_id, "secret": sealed, "key_id": public["key_id"]}
            if call("POST", base, json=body).status_code != 201:
                failed += 1
        return failed

    return work


def _table(runs: list[Run], reference: float, reference_name: str) -> None:
    print(
        f"{'':38} {'seconds':>8} {'x ' + reference_name:>12} {'ok':>5} {'failed':>6} "
        f"{'requests':>8} {'429s':>5}"
    )
    for run in runs:
        print(
            f"{run.name:38} {run.seconds:8.2f} {run.seconds / reference:12.2f} {run.ok:5d} "
            f"{run.failed:6d} {run.requests:8d} {run.throttled:5d}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print the tables; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--secrets", type=int, default=500, help="secrets to set (<= 500)")
    parser.add_argument("--limit", type=int, default=50, help="rate limit: requests per window")
    parser.add_argument("--window", type=float, default=0.5, help="rate limit window, seconds")
    parser.add_argument("--concurrent-secrets", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02, help="added latency, seconds")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    count = args.secrets
    rate = args.limit / args.window
    values = _values(count)
    limit = (args.limit, args.window)
    bound = count / rate
    burst_bound = max(0.0, (count + 2 - args.limit) / rate)
    print(
        f"1. {count} new secrets, rate limit {args.limit} per {args.window:g} s "
        f"({rate:g}/s), over loopback HTTP"
    )
    print(
        f"   bound N/rate = {bound:.2f} s; with the initial burst of {args.limit} "
        f"credited, (N+2-limit)/rate = {burst_bound:.2f} s"
    )
    runs = [
        _measure("SecretsClient.set_many", limit, values, client_run(values)),
        _measure("naive recipe (guide), no retry", limit, values, naive_run(values, False)),
        _measure("naive recipe + wait Retry-After", limit, values, naive_run(values, True)),
    ]
    _table(runs, bound, "bound")
    client = runs[0]
    print(
        f"   client: {client.seconds / bound:.3f}x N/rate, "
        f"{client.seconds / burst_bound:.3f}x the burst-credited bound, "
        f"{client.failed} failures, {client.throttled} 429s"
    )

    small = _values(args.concurrent_secrets)
    print()
    print(
        f"2. {len(small)} new secrets, no rate limit, {args.latency * 1000:g} ms added "
        "to every request"
    )
    # With the limit off the fake sends no x-ratelimit headers; rate_limit=None tells the
    # client not to assume Roblox's 120 per minute instead.
    sequential = _measure(
        "set_many, sequential", None, small, client_run(small, default_quota=False), args.latency
    )
    concurrent = _measure(
        f"set_many, concurrency={args.threads}",
        None,
        small,
        client_run(small, concurrency=args.threads, default_quota=False),
        args.latency,
    )
    _table([sequential, concurrent], sequential.seconds, "seq")
    speedup = sequential.seconds / concurrent.seconds
    print(f"   concurrency speed-up: {speedup:.1f}x")

    met = (
        client.seconds <= 1.15 * bound
        and client.failed == 0
        and client.throttled == 0
        and (runs[1].failed > 0 or runs[2].seconds > 1.15 * bound)
        and speedup >= 3
    )
    print()
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
