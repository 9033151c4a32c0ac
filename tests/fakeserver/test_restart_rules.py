"""The restart endpoint's body rules (reference: universes-restart-servers.v2.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakeserver.backend.restart_rules import RESTART_FIELDS, RestartRequest, parse_restart_body
from fakeserver.errors import BadRequest

REFERENCE = Path(__file__).parent / "data" / "universes-restart-servers.v2.json"


def test_fields_are_the_reference_schemas() -> None:
    spec = json.loads(REFERENCE.read_text())
    schema = spec["components"]["schemas"]["RestartUniverseServersRequest"]
    assert set(schema["properties"]) == set(RESTART_FIELDS)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, RestartRequest()),
        ({"closeAllVersions": True}, RestartRequest(close_all_versions=True)),
        ({"closeAllVersions": False}, RestartRequest()),
        ({"placeIds": [3, 1, 3]}, RestartRequest(place_ids=(3, 1))),
        ({"placeIds": []}, RestartRequest()),
        ({"placeIds": [2**63 - 1]}, RestartRequest(place_ids=(2**63 - 1,))),
        (
            {"bleedOffServers": True, "bleedOffDurationMinutes": 1},
            RestartRequest(bleed_off_minutes=1),
        ),
        (
            {"bleedOffServers": True, "bleedOffDurationMinutes": 60, "closeAllVersions": True},
            RestartRequest(close_all_versions=True, bleed_off_minutes=60),
        ),
        # The duration applies only with bleedOffServers: true.
        ({"bleedOffServers": False, "bleedOffDurationMinutes": 10}, RestartRequest()),
        ({"bleedOffDurationMinutes": 10}, RestartRequest()),
        # null means absent, as everywhere in the fake.
        (
            {
                "placeIds": None,
                "closeAllVersions": None,
                "bleedOffServers": None,
                "bleedOffDurationMinutes": None,
            },
            RestartRequest(),
        ),
    ],
)
def test_valid_bodies(body: dict[str, Any], expected: RestartRequest) -> None:
    assert parse_restart_body(body) == expected


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([], "request body must be a JSON object"),
        ("{}", "request body must be a JSON object"),
        (None, "request body must be a JSON object"),
        (
            {"closeAllVersion": True},
            "unknown field 'closeAllVersion'; allowed: placeIds, closeAllVersions, "
            "bleedOffServers, bleedOffDurationMinutes",
        ),
        ({"place_ids": [1]}, "unknown field 'place_ids'"),
        ({"a b": 1}, "unknown field in request body; allowed: placeIds"),
        ({"x" * 40: 1}, "unknown field in request body; allowed: placeIds"),
        ({"placeIds": 5}, "'placeIds' must be a JSON array"),
        ({"placeIds": "1,2"}, "'placeIds' must be a JSON array"),
        ({"placeIds": ["123"]}, "'placeIds' must hold only integers"),
        ({"placeIds": [1.0]}, "'placeIds' must hold only integers"),
        ({"placeIds": [1.5]}, "'placeIds' must hold only integers"),
        ({"placeIds": [True]}, "'placeIds' must hold only integers"),
        ({"placeIds": [None]}, "'placeIds' must hold only integers"),
        ({"placeIds": [0]}, "'placeIds' must hold positive 64-bit place ids"),
        ({"placeIds": [-4]}, "'placeIds' must hold positive 64-bit place ids"),
        ({"placeIds": [2**63]}, "'placeIds' must hold positive 64-bit place ids"),
        ({"placeIds": list(range(1, 1002))}, "more than 1000 place ids"),
        ({"closeAllVersions": "true"}, "'closeAllVersions' must be true or false"),
        ({"closeAllVersions": 1}, "'closeAllVersions' must be true or false"),
        ({"bleedOffServers": 1}, "'bleedOffServers' must be true or false"),
        (
            {"bleedOffServers": True, "bleedOffDurationMinutes": 0},
            "'bleedOffDurationMinutes' must be an integer from 1 to 60",
        ),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": 61}, "from 1 to 60"),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": -1}, "from 1 to 60"),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": 10.0}, "from 1 to 60"),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": "10"}, "from 1 to 60"),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": True}, "from 1 to 60"),
        # Out of range is a 400 even where the duration would be ignored.
        ({"bleedOffDurationMinutes": 0}, "from 1 to 60"),
        ({"bleedOffServers": False, "bleedOffDurationMinutes": 90}, "from 1 to 60"),
        (
            {"bleedOffServers": True},
            "'bleedOffServers' is true, so 'bleedOffDurationMinutes' must be an integer from "
            "1 to 60",
        ),
    ],
)
def test_invalid_bodies_are_400_problem_details(body: object, detail: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_restart_body(body)
    assert info.value.status == 400
    assert detail in info.value.detail
    problem = info.value.body("/cloud/v2/universes/1:restartServers")
    assert problem["status"] == "400"
    assert problem["title"] == "Bad Request"
    assert problem["detail"] == info.value.detail
