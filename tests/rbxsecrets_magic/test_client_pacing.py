"""The client's pacer: reading x-ratelimit-* headers and spacing requests (virtual time)."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from rbxsecrets_magic.opencloud.pacing import Pacer, parse_rate_limit
from tests.rbxsecrets_magic.support import VirtualClock


def _headers(**values: str) -> CaseInsensitiveDict[str]:
    return CaseInsensitiveDict({f"x-ratelimit-{k}": v for k, v in values.items()})


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("120, 120;w=60", (120, 60.0)),
        ("120", (120, None)),
        ('50;w="10"', (50, 10.0)),
        # Several policies: the lowest sustained rate governs a long run.
        ("100, 100;w=60, 1000;w=3600", (1000, 3600.0)),
        ("10, 10;w=1, 300;w=60", (300, 60.0)),
    ],
)
def test_limit_header_forms(limit: str, expected: tuple[int, float | None]) -> None:
    info = parse_rate_limit(_headers(limit=limit, remaining="5", reset="1.5"))
    assert info is not None
    assert (info.limit, info.window) == expected
    assert (info.remaining, info.reset) == (5.0, 1.5)


@pytest.mark.parametrize(
    "headers", [{}, {"limit": "garbage"}, {"limit": "-1"}, {"remaining": "nan"}]
)
def test_missing_or_broken_headers_say_nothing(headers: dict[str, str]) -> None:
    assert parse_rate_limit(_headers(**headers)) is None


def _pacer(default: tuple[int, float] | None) -> tuple[Pacer, VirtualClock, list[float]]:
    clock = VirtualClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock.sleep(seconds)

    return Pacer(default, clock=clock, sleep=sleep), clock, waits


def test_full_bucket_then_one_request_per_interval() -> None:
    pacer, clock, waits = _pacer((3, 3.0))
    for _ in range(6):
        pacer.release(pacer.acquire(), None)
    assert waits == [1.0, 1.0, 1.0]
    assert clock.now == 1003.0


def test_a_sibling_is_one_bucket_per_name_on_the_same_clock() -> None:
    pacer, clock, waits = _pacer(None)
    restart = pacer.sibling("restart_servers", (2, 4.0))
    assert pacer.sibling("restart_servers", (99, 1.0)) is restart
    assert pacer.sibling("other", (2, 4.0)) is not restart
    for _ in range(3):
        restart.release(restart.acquire(), None)
    assert restart.quota == (2, 4.0) and pacer.quota is None
    assert waits == [2.0] and clock.now == 1002.0


def test_no_default_means_unpaced_until_the_server_speaks() -> None:
    pacer, _, waits = _pacer(None)
    for _ in range(100):
        pacer.release(pacer.acquire(), None)
    assert waits == [] and pacer.quota is None
    pacer.release(pacer.acquire(), _headers(limit="2, 2;w=1", remaining="0", reset="1"))
    assert pacer.quota == (2, 1.0)
    pacer.release(pacer.acquire(), None)
    assert waits == [0.5]


def test_server_quota_and_remaining_replace_the_default() -> None:
    pacer, _, waits = _pacer((120, 60.0))
    ticket = pacer.acquire()
    # 10 per second, 4 left, and the reset says 4.25 tokens exactly.
    pacer.release(ticket, _headers(limit="10, 10;w=1", remaining="4", reset="0.575"))
    assert pacer.quota == (10, 1.0)
    for _ in range(5):
        pacer.release(pacer.acquire(), None)
    # 4.25 tokens cover four requests; the fifth waits for the missing 0.75 token.
    assert waits == [0.075]


def test_remaining_is_trusted_alone_but_only_lowers_the_estimate_with_others_in_flight() -> None:
    pacer, _, waits = _pacer((10, 1.0))
    pacer.release(pacer.acquire(), _headers(limit="10, 10;w=1", remaining="2", reset="0.8"))
    first, second = pacer.acquire(), pacer.acquire()  # spends the 2 tokens
    # An answer claiming 9 left may predate requests still in flight: not believed upward.
    pacer.release(first, _headers(limit="10, 10;w=1", remaining="9", reset="0.1"))
    pacer.release(second, None)
    pacer.release(pacer.acquire(), None)
    assert waits == [0.1]
    # With nothing else in flight, the server's count is exact and is believed either way.
    pacer.release(pacer.acquire(), _headers(limit="10, 10;w=1", remaining="9", reset="0.1"))
    waits.clear()
    for _ in range(9):
        pacer.release(pacer.acquire(), None)
    assert waits == []


def test_first_answer_counts_requests_still_in_flight() -> None:
    pacer, _, waits = _pacer((10, 1.0))
    first, second = pacer.acquire(), pacer.acquire()
    # Someone else spent the budget: the server says 0 left, and `second` will take one more.
    pacer.release(first, _headers(limit="10, 10;w=1", remaining="0", reset="1"))
    pacer.release(second, None)
    pacer.release(pacer.acquire(), None)
    assert waits == [0.2]


def test_hold_makes_everyone_wait() -> None:
    pacer, clock, waits = _pacer((100, 1.0))
    pacer.hold(3.0)
    pacer.release(pacer.acquire(), None)
    assert waits == [3.0]
    assert clock.now == 1003.0


def test_invalid_default_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 request per positive window"):
        Pacer((0, 60.0))
