"""rollout.py: what a restart is said to do, the confirm rule, which universes --restart picks.

These are the rules both the magics and ``rbx-secrets`` follow; the commands' own tests run
them end to end against the fake.
"""

from __future__ import annotations

from typing import Any

import pytest

from rbxsecrets_magic.errors import DeclinedError, InvalidInputError, ServerError, TransportError
from rbxsecrets_magic.operations.interaction import Interaction
from rbxsecrets_magic.operations.rollout import (
    RestartOptionError,
    RestartOptions,
    RestartTarget,
    confirm_restart,
    describe_restart,
    parse_bleed_off,
    parse_place_ids,
    restart_targets_after_writes,
    restart_universes,
    roll_out,
    summarize_failures,
)
from rbxsecrets_magic.render.option_words import restart_option_problem

ONE = RestartTarget(111, "111")
TWO = RestartTarget(222, "222 (production)")


class Client:
    """Records restart_servers calls; raises ``error`` when given."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def restart_servers(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        (
            RestartOptions(legacy=True, bleed_off_minutes=10),
            "Servers of every place in universe 111 stop taking players now and shut down in "
            "10 minutes.",
        ),
        (RestartOptions(legacy=True), "Servers of every place in universe 111 shut down now."),
        (
            RestartOptions(legacy=True, place_ids=(5,), bleed_off_minutes=1),
            "Servers of place 5 in universe 111 stop taking players now and shut down in 1 minute.",
        ),
        (
            RestartOptions(legacy=True, place_ids=(5, 6)),
            "Servers of places 5, 6 in universe 111 shut down now.",
        ),
    ],
)
def test_describe_says_what_happens_to_players(options: RestartOptions, sentence: str) -> None:
    assert describe_restart(ONE, options) == sentence


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, None), ([], None), ("5", (5,)), ("5, 6,5", (5, 6)), (["5", "7,8"], (5, 7, 8))],
)
def test_place_ids_parse(given: Any, expected: Any) -> None:
    assert parse_place_ids(given) == expected


@pytest.mark.parametrize("given", ["", "a", "5,,6", "-5", "0", "5.0", "٣", "99999999999999999999"])
def test_bad_place_ids_are_refused_without_repeating_them(given: str) -> None:
    with pytest.raises(RestartOptionError) as info:
        parse_place_ids(given)
    # One fixed fact, whatever was typed: nothing typed is repeated, no option is named.
    assert info.value.problem == "places"
    assert str(info.value) == (
        "place ids are positive whole numbers (the place's ID in Creator Hub), separated by commas"
    )
    # Both front ends word it with the one shared line (tests/rbxsecrets_magic/test_rollout_*.py).
    sentence = (
        "--places takes place ids (positive whole numbers, the place's ID in Creator Hub), "
        "separated by commas"
    )
    assert restart_option_problem(info.value) == sentence


@pytest.mark.parametrize(("given", "expected"), [(None, None), ("1", 1), ("60", 60), (" 7 ", 7)])
def test_bleed_off_parses(given: Any, expected: Any) -> None:
    assert parse_bleed_off(given, legacy=True) == expected


@pytest.mark.parametrize(
    ("given", "problem", "words"),
    [
        ("0", "bleed_off_zero", "--bleed-off 0 is not a bleed-off"),
        ("61", "bleed_off", "1 to 60"),
        ("-1", "bleed_off", "1 to 60"),
        ("ten", "bleed_off", "1 to 60"),
        ("1.5", "bleed_off", "1 to 60"),
        (0, "bleed_off_zero", "not a bleed-off"),
    ],
)
def test_bad_bleed_off_is_one_line(given: Any, problem: str, words: str) -> None:
    with pytest.raises(RestartOptionError) as info:
        parse_bleed_off(given, legacy=True)
    assert info.value.problem == problem and "--" not in str(info.value)
    worded = restart_option_problem(info.value)
    assert words in worded and "\n" not in worded


def test_yes_answers_without_asking() -> None:
    said: list[str] = []

    def never(question: str) -> bool | None:
        raise AssertionError("asked despite --yes")

    confirm_restart(
        [ONE, TWO],
        RestartOptions(legacy=True),
        yes=True,
        interaction=Interaction(ask=never, say=said.append),
    )
    assert said == [describe_restart(t, RestartOptions(legacy=True)) for t in (ONE, TWO)]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "nothing can ask"),
        (False, "not confirmed"),
    ],
)
def test_no_answer_or_no_restarts_nothing(answer: bool | None, words: str) -> None:
    client = Client()
    asked: list[str] = []

    def ask(question: str) -> bool | None:
        asked.append(question)
        return answer

    with pytest.raises(DeclinedError) as info:
        roll_out(
            [ONE],
            RestartOptions(legacy=True),
            lambda _u: client,
            yes=False,  # type: ignore[arg-type]
            interaction=Interaction(ask=ask),
        )
    assert words in str(info.value) and "nothing was restarted" in str(info.value)
    assert client.calls == []
    assert asked == ["Restart them? Players on them are disconnected. [y/N] "]


def test_a_yes_restarts_each_universe_once() -> None:
    clients = {111: Client(), 222: Client()}
    said: list[str] = []
    outcomes = roll_out(
        [ONE, TWO],
        RestartOptions(legacy=True, bleed_off_minutes=5),
        clients.__getitem__,  # type: ignore[arg-type]
        yes=False,
        interaction=Interaction(ask=lambda q: "2 universes" in q, say=said.append),
    )
    assert [o.result for o in outcomes] == ["done", "done"]
    assert [c.calls for c in clients.values()] == [
        [{"place_ids": None, "bleed_off_minutes": 5}]
    ] * 2
    assert said[-1] == (
        "Restarted the servers of universe 222 (production): new servers load "
        "the secrets as they are now (old ones drain for 5 minutes)."
    )


def test_each_universe_is_reported_for_what_it_is() -> None:
    clients = {
        111: Client(ServerError(500, "boom", doing="restarting", outcome_unknown=True)),
        222: Client(TransportError("refused", outcome_unknown=False)),
        333: Client(),
    }
    said: list[str] = []
    targets = [ONE, TWO, RestartTarget(333, "333")]
    outcomes = restart_universes(
        targets,
        RestartOptions(legacy=True),
        clients.__getitem__,  # type: ignore[arg-type]
        say=said.append,
    )
    assert [o.result for o in outcomes] == ["unknown", "failed", "done"]
    assert said[0].startswith(
        "Restart outcome unknown in universe 111: it may have happened; not sent again"
    )
    assert said[1].startswith(
        "Restart failed in universe 222 (production); nothing was restarted there"
    )
    assert all(len(c.calls) == 1 for c in clients.values())
    assert summarize_failures(outcomes) == (
        "restart outcome unknown in universe 111; failed in universe 222 (production) (see above)"
    )
    assert summarize_failures(outcomes[2:]) is None


def test_places_with_several_universes_are_refused_before_asking() -> None:
    with pytest.raises(InvalidInputError, match="one universe"):
        roll_out(
            [ONE, TWO],
            RestartOptions(legacy=True, place_ids=(5,)),
            lambda _u: Client(),  # type: ignore[arg-type]
            yes=True,
            interaction=Interaction(ask=lambda _q: True),
        )


def test_restart_after_writes_skips_failed_unknown_and_unchanged_universes() -> None:
    results = [
        (1, "done"),
        (1, "skipped"),
        (2, "done"),
        (2, "failed"),
        (3, "unknown"),
        (4, "skipped"),
        (5, "done"),
    ]
    targets, notes = restart_targets_after_writes(results, {5: "5 (staging)"})
    assert targets == [RestartTarget(1, "1"), RestartTarget(5, "5 (staging)")]
    assert notes == [
        "Not restarting universe 2: a write there failed; fix it first, then restart.",
        "Not restarting universe 3: a write there has an unknown outcome; fix it first, then "
        "restart.",
        "Not restarting universe 4: nothing changed there.",
    ]
