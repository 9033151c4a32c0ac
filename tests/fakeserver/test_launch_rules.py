"""The launch body of Server Management's ``POST .../restarts``, checked as a pure function."""

from __future__ import annotations

from typing import Any

import pytest

from fakeserver.backend.launch_rules import ATTRIBUTES_MAX_BYTES, attributes_size, parse_launch_body
from fakeserver.backend.restarts import LaunchRequest, PlaceFilter
from fakeserver.errors import BadRequest


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, LaunchRequest()),
        ({"bleedOffDurationMinutes": None, "places": None, "attributes": None}, LaunchRequest()),
        ({"bleedOffDurationMinutes": 1}, LaunchRequest(bleed_off_minutes=1)),
        ({"bleedOffDurationMinutes": 240}, LaunchRequest(bleed_off_minutes=240)),
        ({"places": {"1818": {}}}, LaunchRequest(places={1818: PlaceFilter()})),
        ({"places": {"1818": None}}, LaunchRequest(places={1818: PlaceFilter()})),
        (
            {"places": {"5": {"versions": [3, 1, 3]}}},
            LaunchRequest(places={5: PlaceFilter(versions=frozenset({1, 3}))}),
        ),
        (
            {"places": {"5": {"excludeCurrentVersion": True, "versions": None}}},
            LaunchRequest(places={5: PlaceFilter(exclude_current_version=True)}),
        ),
        ({"attributes": {"why": "rotation"}}, LaunchRequest(attributes={"why": "rotation"})),
        ({"attributes": {}}, LaunchRequest(attributes={})),
    ],
)
def test_valid_bodies(body: dict[str, Any], expected: LaunchRequest) -> None:
    assert parse_launch_body(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"bleedOffServers": True}, "unknown field 'bleedOffServers' in request body"),
        ({"x y": 1}, "unknown field in request body; allowed:"),
        ({"bleedOffDurationMinutes": 0}, "from 1 to 240"),
        ({"bleedOffDurationMinutes": 241}, "from 1 to 240"),
        ({"bleedOffDurationMinutes": 5.0}, "from 1 to 240"),
        ({"bleedOffDurationMinutes": "5"}, "from 1 to 240"),
        ({"bleedOffDurationMinutes": True}, "from 1 to 240"),
        ({"places": []}, "'places' must be a JSON object"),
        ({"places": {}}, "names no place"),
        ({"places": {"abc": {}}}, "must be a place id"),
        ({"places": {"0": {}}}, "must be a place id"),
        ({"places": {"018": {}}}, "must be a place id"),
        ({"places": {"-5": {}}}, "must be a place id"),
        ({"places": {str(2**63): {}}}, "must be a place id"),
        ({"places": {"5": []}}, "filter of place 5 must be a JSON object"),
        (
            {"places": {"5": {"closeAll": True}}},
            "unknown field 'closeAll' in the filter of place 5",
        ),
        (
            {"places": {"5": {"versions": [1], "excludeCurrentVersion": False}}},
            "mutually exclusive",
        ),
        ({"places": {"5": {"versions": []}}}, "is empty"),
        ({"places": {"5": {"versions": [0]}}}, "positive version numbers"),
        ({"places": {"5": {"versions": [2**31]}}}, "positive version numbers"),
        ({"places": {"5": {"versions": ["1"]}}}, "positive version numbers"),
        ({"places": {"5": {"versions": 1}}}, "positive version numbers"),
        ({"places": {"5": {"excludeCurrentVersion": "yes"}}}, "must be true or false"),
        ({"attributes": []}, "'attributes' must be a JSON object"),
        ({"attributes": "text"}, "'attributes' must be a JSON object"),
        ({"attributes": 5}, "'attributes' must be a JSON object"),
        ({"attributes": {"k": "x" * 500}}, "bytes as JSON; at most 500"),
    ],
)
def test_bad_bodies_name_the_rule(body: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_launch_body(body)
    assert message in caught.value.detail
    assert caught.value.status == 400


def test_the_500_byte_limit_counts_compact_utf8() -> None:
    # {"k":"..."} is 8 bytes of structure; "é" is two bytes in UTF-8.
    fits = {"k": "é" * ((ATTRIBUTES_MAX_BYTES - 8) // 2)}
    assert attributes_size(fits) == ATTRIBUTES_MAX_BYTES
    assert parse_launch_body({"attributes": fits}).attributes == fits
    over = {"k": "é" * ((ATTRIBUTES_MAX_BYTES - 8) // 2) + "a"}
    assert attributes_size(over) == ATTRIBUTES_MAX_BYTES + 1
    with pytest.raises(BadRequest, match="501 bytes"):
        parse_launch_body({"attributes": over})


def test_filters_select_versions() -> None:
    every = PlaceFilter()
    assert every.selects(1, 3) and every.selects(3, 3)
    older = PlaceFilter(exclude_current_version=True)
    assert older.selects(2, 3) and not older.selects(3, 3)
    listed = PlaceFilter(versions=frozenset({2}))
    assert listed.selects(2, 3) and not listed.selects(3, 3) and not listed.selects(1, 3)
    assert listed.describe() == {"versions": [2], "excludeCurrentVersion": None}
    assert older.describe() == {"versions": None, "excludeCurrentVersion": True}
