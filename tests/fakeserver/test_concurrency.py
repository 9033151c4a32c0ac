"""Concurrent requests: each operation is atomic, nothing is lost, the journal orders them.

Several threads hammer one universe with mixed operations on a few shared ids. Replaying the
journal one request at a time on a fresh fake must give every request the same status and end
in the same state, which is what "atomic, in journal order" means.
"""

from __future__ import annotations

import random
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fakeserver import FakeOpenCloud
from tests.fakeserver.support import Response, WsgiClient, seal

THREADS = 8
OPS_PER_THREAD = 60
IDS = [f"s{i}" for i in range(6)]
UNIVERSE_ID = 777


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    # Make the interpreter switch threads far more often, so requests really interleave.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@dataclass
class Op:
    """One request a thread made, and the status it got."""

    kind: str
    secret_id: str
    value: str | None = None
    domain: str | None = None
    status: int = 0


def _perform(client: WsgiClient, op: Op, public: tuple[str, str]) -> Response:
    key_id, public_key = public
    path = f"{client.base}/{op.secret_id}"
    if op.kind == "create":
        body: dict[str, Any] = {
            "id": op.secret_id,
            "secret": seal(op.value or "", public_key),
            "key_id": key_id,
        }
        if op.domain is not None:
            body["domain"] = op.domain
        return client.request("POST", client.base, body)
    if op.kind == "update_value":
        return client.request(
            "PATCH", path, {"secret": seal(op.value or "", public_key), "key_id": key_id}
        )
    if op.kind == "update_domain":
        return client.request("PATCH", path, {"domain": op.domain})
    if op.kind == "delete":
        return client.request("DELETE", path)
    if op.kind == "list":
        return client.list("limit=500")
    return client.public_key()


def _random_op(rng: random.Random, thread: int, index: int) -> Op:
    kind = rng.choice(
        ["create", "create", "update_value", "update_domain", "delete", "list", "public_key"]
    )
    return Op(
        kind,
        rng.choice(IDS),
        value=f"t{thread}-op{index}-✓",
        domain=rng.choice([None, "", "*", "a.example.com", "*.Example.org"]),
    )


def _run_threads(target: Callable[[int], None], count: int = THREADS) -> None:
    errors: list[BaseException] = []

    def wrapper(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


def test_mixed_operations_equal_a_serial_replay_of_the_journal():
    fake = FakeOpenCloud()
    fake.add_universe(UNIVERSE_ID)
    credentials = [fake.add_api_key() if i % 2 else fake.add_oauth_token() for i in range(THREADS)]
    ops: dict[str, list[Op]] = {c.credential_id: [] for c in credentials}
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        credential = credentials[index]
        client = WsgiClient(fake, UNIVERSE_ID, credential.headers)
        rng = random.Random(index)
        mine = ops[credential.credential_id]
        start.wait()
        first = Op("public_key", "")
        body = client.public_key()
        first.status = body.status
        mine.append(first)
        public = (body.json["key_id"], body.json["secret"])
        for i in range(OPS_PER_THREAD):
            op = _random_op(rng, index, i)
            op.status = _perform(client, op, public).status
            assert op.status < 500
            mine.append(op)

    _run_threads(worker)

    journal = fake.journal
    assert len(journal) == THREADS * (OPS_PER_THREAD + 1)  # nothing lost
    assert len({e.sequence for e in journal}) == len(journal)
    statuses = {op.status for thread_ops in ops.values() for op in thread_ops}
    assert {200, 201, 404, 409} <= statuses  # the threads really collided

    # Replay, one at a time, in journal order, on a fresh fake.
    replay = FakeOpenCloud()
    replay.add_universe(UNIVERSE_ID)
    replay_client = WsgiClient(replay, UNIVERSE_ID, replay.add_api_key().headers)
    public = replay_client.key()
    cursor: dict[str, int] = defaultdict(int)
    model: dict[str, tuple[str | None, str]] = {}
    for entry in journal:
        assert entry.credential_id is not None
        op = ops[entry.credential_id][cursor[entry.credential_id]]
        cursor[entry.credential_id] += 1
        assert entry.status == op.status
        replayed = _perform(replay_client, op, public)
        assert replayed.status == op.status, (op, entry)
        _apply(model, op)
    assert fake.snapshot()[UNIVERSE_ID] == replay.snapshot()[UNIVERSE_ID] == model
    assert fake.secret_ids(UNIVERSE_ID) == sorted(model)


def _apply(model: dict[str, tuple[str | None, str]], op: Op) -> None:
    """The expected effect of a successful operation on ``{id: (domain, value)}``."""
    if op.status >= 300:
        return
    folded = op.domain.lower() if op.domain else None
    if op.kind == "create":
        model[op.secret_id] = (folded, op.value or "")
    elif op.kind == "update_value":
        model[op.secret_id] = (model[op.secret_id][0], op.value or "")
    elif op.kind == "update_domain":
        model[op.secret_id] = (folded, model[op.secret_id][1])
    elif op.kind == "delete":
        del model[op.secret_id]


def test_concurrent_creates_of_distinct_ids_all_land():
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()

    def worker(index: int) -> None:
        client = WsgiClient(fake, universe.universe_id, key.headers)
        for i in range(50):
            response = client.request(
                "POST",
                client.base,
                {
                    "id": f"t{index}_{i}",
                    "secret": seal(f"v{index}.{i}", universe.public_key),
                    "key_id": universe.key_id,
                },
            )
            assert response.status == 201

    _run_threads(worker)
    assert len(fake.secret_ids(universe.universe_id)) == THREADS * 50
    for index in range(THREADS):
        for i in range(50):
            assert fake.plaintext(universe.universe_id, f"t{index}_{i}") == f"v{index}.{i}"


def test_same_id_created_concurrently_exactly_one_wins():
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    results: list[int] = []
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        client = WsgiClient(fake, universe.universe_id, key.headers)
        start.wait()
        for round_ in range(20):
            response = client.request(
                "POST",
                client.base,
                {
                    "id": f"race{round_}",
                    "secret": seal(f"w{index}", universe.public_key),
                    "key_id": universe.key_id,
                },
            )
            results.append(response.status)

    _run_threads(worker)
    assert results.count(201) == 20
    assert results.count(409) == 20 * (THREADS - 1)
    creators = {e.sequence: e for e in fake.journal if e.status == 201}
    assert len(creators) == 20


def test_lists_during_writes_are_consistent_snapshots():
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    stop = threading.Event()
    pages: list[list[str]] = []
    start = threading.Barrier(4)

    def worker(index: int) -> None:
        client = WsgiClient(fake, universe.universe_id, key.headers)
        start.wait()
        if index == 0:
            for i in range(150):
                fake.put_secret(universe.universe_id, f"k{i:03d}", "v")
                if i % 3 == 0:
                    client.delete(f"k{i - 1:03d}" if i else "k000")
            stop.set()
            return
        done = 0
        while not stop.is_set() or done < 5:
            body = client.list("limit=500").json
            pages.append([s["id"] for s in body["secrets"]])
            done += 1

    _run_threads(worker, count=4)
    assert len(pages) >= 15
    for ids in pages:
        assert ids == sorted(set(ids))


def test_key_rotation_during_writes_never_half_applies():
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    outcomes: list[tuple[str, str, int]] = []

    def worker(index: int) -> None:
        client = WsgiClient(fake, universe.universe_id, key.headers)
        if index == 0:
            for _ in range(30):
                fake.rotate_key(universe.universe_id)
            return
        for i in range(30):
            key_id, public = client.key()
            value = f"r{index}.{i}"
            secret_id = f"r{index}_{i}"
            response = client.request(
                "POST",
                client.base,
                {"id": secret_id, "secret": seal(value, public), "key_id": key_id},
            )
            outcomes.append((secret_id, value, response.status))

    _run_threads(worker, count=5)
    assert {status for _, _, status in outcomes} <= {201, 400}
    for secret_id, value, status in outcomes:
        if status == 201:
            assert fake.plaintext(universe.universe_id, secret_id) == value
        else:
            with pytest.raises(KeyError):
                fake.plaintext(universe.universe_id, secret_id)
