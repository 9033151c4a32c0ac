"""Secrets as code: requests an apply spends, and how close it runs to the rate-limit bound.

Run with ``python bench/sync_apply.py``. Everything talks to ``fakeserver`` over loopback HTTP
with two universes, and every value is checked through the fake's oracle. Two tables:

1. Requests (rate limit off). ``--count`` secrets in each of the two universes: the first apply
   (2 requests per universe plus one per secret), a re-apply with nothing changed (target: 2
   per universe, 4 in all, no write), beside re-sending every value the way other tools do
   (one key fetch per universe plus one write per secret: 602 for 300) and beside
   ``set_many`` (list, key, one write per secret).
2. Time at a rate limit compressed to ``--limit`` per ``--window`` s. ``--changed`` secrets
   changed in each universe, applied by ``rbx-secrets``' plan and apply through clients that
   share one pacer. From the first request to the last answer, beside the bound
   ``(requests - burst) / rate``. Target: at most 1.15x the bound, with no 429 answered.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from fakeserver import FakeOpenCloud
from rbxsecrets_magic.opencloud.client import SecretsClient
from rbxsecrets_magic.secrets_as_code.apply import apply_plan
from rbxsecrets_magic.secrets_as_code.plan import make_plan
from rbxsecrets_magic.secrets_as_code.state import StateStore
from rbxsecrets_magic.secrets_as_code.sync import close_clients, load_desired, open_clients

UNIVERSES = (4_200_000_001, 4_200_000_002)


def _fake(rate_limit: tuple[int, float] | None) -> tuple[FakeOpenCloud, str]:
    fake = FakeOpenCloud(rate_limit=rate_limit)
    for universe in UNIVERSES:
        fake.add_universe(universe)
    return fake, fake.add_api_key(universe_ids=list(UNIVERSES)).key


def _values(count: int, version: int) -> dict[str, str]:
    return {f"BENCH_SECRET_{i:03d}": f"value-{version}-{i}-" + "x" * 40 for i in range(count)}


def _write_env(directory: Path, values: dict[str, str]) -> str:
    path = directory / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return str(path)


def _check(fake: FakeOpenCloud, values: dict[str, str]) -> None:
    for universe in UNIVERSES:
        wrong = [k for k, v in values.items() if fake.plaintext(universe, k) != v]
        if wrong:
            raise SystemExit(f"universe {universe}: {len(wrong)} secrets hold the wrong value")


def _apply(
    env_file: str, state: StateStore, rate_limit: tuple[int, float] | None, *, shared: bool = True
) -> bool:
    desired = load_desired(None, env_file=env_file, universes=[",".join(map(str, UNIVERSES))])
    if shared:
        clients = open_clients(desired.targets, rate_limit=rate_limit)
    else:  # the control: each client paces alone, as if it had the whole budget
        clients = {
            t.universe_id: SecretsClient(t.universe_id, rate_limit=rate_limit)
            for t in desired.targets
        }
    try:
        report = apply_plan(make_plan(desired, clients, state), clients, state)
    finally:
        close_clients(clients)
    return report.ok


def requests_table(count: int, work: Path) -> bool:
    """Table 1; returns whether the re-apply cost 4 requests and no write."""
    values = _values(count, 1)
    env_file = _write_env(work, values)
    fake, key = _fake(None)
    rows: list[tuple[str, int, int]] = []
    with fake.serve() as server:
        os.environ.update(RBX_API_KEY=key, RBX_OPEN_CLOUD_URL=server.url)
        state = StateStore(work / "state")
        for name in ("first apply (all new)", "re-apply, nothing changed"):
            fake.clear_journal()
            if not _apply(env_file, state, None):
                raise SystemExit(f"{name}: the apply failed")
            _check(fake, values)
            writes = sum(e.method != "GET" for e in fake.journal)
            rows.append((name, len(fake.journal), writes))
        fake.clear_journal()
        for universe in UNIVERSES:
            with SecretsClient(universe, base_url=server.url, rate_limit=None) as client:
                client.public_key()
                for secret_id, value in values.items():
                    client.set(secret_id, value, exists=True)
        rows.append(
            (
                "re-send every value (other tools)",
                len(fake.journal),
                sum(e.method != "GET" for e in fake.journal),
            )
        )
        fake.clear_journal()
        for universe in UNIVERSES:
            with SecretsClient(universe, base_url=server.url, rate_limit=None) as client:
                client.set_many(values)
        rows.append(
            (
                "set_many per universe",
                len(fake.journal),
                sum(e.method != "GET" for e in fake.journal),
            )
        )
    print(f"1. {count} secrets in each of {len(UNIVERSES)} universes, rate limit off")
    reapply = rows[1][1]
    print(f"   {'':36} {'requests':>8} {'writes':>7} {'x re-apply':>11}")
    for name, sent, writes in rows:
        print(f"   {name:36} {sent:8d} {writes:7d} {sent / reapply:11.1f}")
    return rows[1][1] == 2 * len(UNIVERSES) and rows[1][2] == 0


def _timed(
    changed: int, limit: int, window: float, work: Path, shared: bool
) -> tuple[float, int, int, bool]:
    """Seconds, requests, 429 answers and success of applying ``changed`` new values."""
    first, second = _values(changed, 1), _values(changed, 2)
    fake, key = _fake(None)
    name = "shared" if shared else "separate"
    with fake.serve() as server:
        os.environ.update(RBX_API_KEY=key, RBX_OPEN_CLOUD_URL=server.url)
        state = StateStore(work / f"state-{name}")
        if not _apply(_write_env(work, first), state, None):
            raise SystemExit("seeding failed")
        env_file = _write_env(work, second)
        fake.set_rate_limit(limit, window)  # a full bucket from here on
        fake.clear_journal()
        started = time.perf_counter()
        ok = _apply(env_file, state, (limit, window), shared=shared)
        seconds = time.perf_counter() - started
        journal = fake.journal
        fake.set_rate_limit(None)
    _check(fake, second)
    return seconds, len(journal), sum(e.status == 429 for e in journal), ok


def timing_table(changed: int, limit: int, window: float, work: Path) -> bool:
    """Table 2; returns whether the apply stayed within 1.15x the bound with no 429."""
    rate = limit / window
    expected = len(UNIVERSES) * (2 + changed)
    bound = (expected - limit) / rate
    print(
        f"2. {changed} changed secrets in each of {len(UNIVERSES)} universes, rate limit "
        f"{limit} per {window:g} s; {expected} requests"
    )
    print(f"   bound (requests - burst) / rate = ({expected} - {limit}) / {rate:g} = {bound:.2f} s")
    print(f"   {'':34} {'seconds':>8} {'x bound':>8} {'requests':>8} {'429s':>5} {'ok':>5}")
    met = False
    for shared in (True, False):
        seconds, sent, throttled, ok = _timed(changed, limit, window, work, shared)
        name = "apply, one pacer for all (ours)" if shared else "apply, a pacer per universe"
        print(
            f"   {name:34} {seconds:8.2f} {seconds / bound:8.3f} {sent:8d} {throttled:5d} {ok!s:>5}"
        )
        if shared:
            met = ok and throttled == 0 and seconds / bound <= 1.15 and sent == expected
    print("   target: one pacer within 1.15x the bound, no 429")
    return met


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print the tables; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=300, help="secrets per universe (table 1)")
    parser.add_argument(
        "--changed", type=int, default=100, help="changed secrets per universe (table 2)"
    )
    parser.add_argument("--limit", type=int, default=40, help="requests per window (table 2)")
    parser.add_argument("--window", type=float, default=1.0, help="window seconds (table 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        os.environ["RBX_SECRETS_STATE_DIR"] = str(Path(work) / "state")
        requests_ok = requests_table(args.count, Path(work))
        print()
        timing_ok = timing_table(args.changed, args.limit, args.window, Path(work))
    met = requests_ok and timing_ok
    print()
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
