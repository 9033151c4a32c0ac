"""A property-based run over Server Management's reference: no 5xx, no schema violation.

Hypothesis draws sequences of the three operations the fake serves (forecast, launch, status)
with bodies generated from the reference's own ``LaunchRestartRequest`` schema (place keys
favouring the universe's real places), now and then an unknown field, a wrong universe or
credential, and the fake's clock moving between calls, on a universe running servers with
players. Every answer must be below 500, one of the statuses the reference documents (200,
400, 401, 403), and valid against the reference's schemas (``call_app`` checks that).
Successful answers must also agree with each other: a launch's counts are what the forecast
said just before, and every place ends ``SUCCEEDED`` once its bleed-off is over.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakeserver import FakeOpenCloud
from tests.fakeserver.schema_strategies import any_json, from_schema
from tests.fakeserver.support import SERVER_MANAGEMENT_COMPONENTS, FakeClock, call_app

PLACES = (1818, 1819, 1820)
UNIVERSE = 111
DOCUMENTED = {200, 400, 401, 403}

_place_keys = st.sampled_from([str(p) for p in PLACES]) | st.text(max_size=8)
_launch_bodies = from_schema(
    {"$ref": "#/components/schemas/LaunchRestartRequest"},
    SERVER_MANAGEMENT_COMPONENTS,
    keys=_place_keys,
)


@st.composite
def _launch(draw: st.DrawFn) -> tuple[str, Any]:
    body = draw(_launch_bodies)
    if draw(st.integers(0, 9)) == 0:
        body = {**body, draw(st.text(max_size=10)): draw(any_json)}
    if draw(st.integers(0, 19)) == 0:
        body = draw(any_json)
    return "launch", body


_call = st.one_of(
    st.just(("forecast", None)),
    st.just(("statuses", None)),
    _launch(),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 30.0, 60.0, 600.0, 15_000.0])),
)
_who = st.sampled_from(["full", "full", "full", "no-read", "no-write", "nobody", "other"])


def _setup() -> tuple[FakeOpenCloud, FakeClock, dict[str, dict[str, str]]]:
    clock = FakeClock()
    fake = FakeOpenCloud(clock=clock)
    fake.add_universe(UNIVERSE)
    fake.put_secret(UNIVERSE, "TOKEN", "v1", domain="*")
    for place, players in zip(PLACES, (20, 10, 11), strict=True):
        fake.start_server(UNIVERSE, place, players=players)
        fake.start_server(UNIVERSE, place, players=players // 2)
    fake.publish_place(UNIVERSE, PLACES[0])
    fake.start_server(UNIVERSE, PLACES[0], players=3)
    credentials = {
        "full": fake.add_api_key().headers,
        "no-read": fake.add_api_key(universe_read=False).headers,
        "no-write": fake.add_api_key(universe_write=False).headers,
        "nobody": {"x-api-key": "not-a-key"},
        "other": fake.add_api_key(universe_ids=[UNIVERSE + 1]).headers,
    }
    return fake, clock, credentials


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.tuples(_call, _who), min_size=1, max_size=12))
def test_no_server_error_and_no_schema_violation(calls: list[tuple[tuple[str, Any], str]]) -> None:
    fake, clock, credentials = _setup()
    base = f"/server-management/v1/universes/{UNIVERSE}/restarts"
    launched: list[str] = []
    for (what, argument), who in calls:
        if what == "advance":
            clock.advance(argument)
            continue
        headers = credentials[who]
        if what == "forecast":
            response = call_app(fake, "GET", f"{base}:forecast", headers=headers)
        elif what == "statuses":
            response = call_app(fake, "GET", base, headers=headers)
        else:
            before = call_app(fake, "GET", f"{base}:forecast", headers=credentials["full"])
            body = json.dumps(argument).encode()
            response = call_app(fake, "POST", base, body=body, headers=headers)
            if response.status == 200:
                launched.append(response.json["id"])
                _agrees_with_forecast(argument, before.json, response.json)
        assert response.status in DOCUMENTED, (what, response.status, response.json)
    # Past every bleed-off (240 minutes at most), two reads: RESTARTING, then SUCCEEDED.
    clock.advance(240 * 60)
    for _ in range(2):
        final = call_app(fake, "GET", base, headers=credentials["full"]).json
    for restart_id in launched:
        places = final["restartStatuses"][restart_id]["placeRestartStatuses"]
        assert all(place["state"] == "SUCCEEDED" for place in places.values())
        assert all(place["remainingInstances"] == 0 for place in places.values())


def _agrees_with_forecast(body: Any, forecast: dict[str, Any], answer: dict[str, Any]) -> None:
    """An unfiltered launch hits exactly what the forecast just said it would."""
    places = body.get("places") if isinstance(body, dict) else None
    if places is None:
        expected = forecast["placeForecasts"].values()
        assert answer["playersImpacted"] == sum(f["playersImpacted"] for f in expected)
        assert answer["instancesImpacted"] == sum(f["instancesImpacted"] for f in expected)
    else:
        total = sum(f["playersImpacted"] for f in forecast["placeForecasts"].values())
        assert answer["playersImpacted"] <= total
