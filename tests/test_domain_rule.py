"""Section 9's domain rule: one table, the client's preflight and the fake's game servers.

``tests/data/domain_cases.json`` lists every line of section 9 (and the project's choices). The
two packages never import each other, so the rule is written twice; this test holds them to
the same answers: "allowed", "refused", or "bad_url" (an error saying the URL has no valid host).
On the fake the secret travels both ways a game allows: as a header value, and as the URL
itself (a secret holding the whole URL, such as a webhook).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakeserver import GameServer, GameServerError, Secret
from rbxsecrets_magic.errors import InvalidInputError
from rbxsecrets_magic.opencloud.domains import check_domain

TABLE = json.loads((Path(__file__).parent / "data" / "domain_cases.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = TABLE["cases"]
VALUE = "tok-3f9a-not-shown"


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['domain']!r}->{case['url'][:40]!r}"


def _client_answer(domain: str | None, url: str) -> str:
    try:
        check = check_domain(domain, url)
    except InvalidInputError:
        return "bad_url"
    return "allowed" if check.allowed else "refused"


def _server(domain: str | None, url_value: str) -> GameServer:
    return GameServer(
        server_id="job-1",
        place_id=1,
        place_version=1,
        secrets={"TOKEN": (VALUE, domain), "HOOK": (url_value, domain)},
        clock=lambda: 0.0,
    )


def _fake_answer_header(domain: str | None, url: str) -> str:
    server = _server(domain, url)
    try:
        sent = server.http_request(url, headers={"Authorization": server.get_secret("TOKEN")})
    except GameServerError as exc:
        assert VALUE not in str(exc)
        if "private" in str(exc) or "may be sent only" in str(exc):
            return "refused"
        return "bad_url"
    assert sent.headers == {"Authorization": VALUE}
    return "allowed"


def _fake_answer_url(domain: str | None, url: str) -> str:
    server = _server(domain, url)
    try:
        sent = server.http_request(server.get_secret("HOOK"))
    except GameServerError as exc:
        # The URL is the secret's value here: not even its host may show.
        assert url not in str(exc) or not url
        if "private" in str(exc) or "may be sent only" in str(exc):
            return "refused"
        return "bad_url"
    assert sent.url == url
    return "allowed"


def test_the_table_covers_every_line_of_section_9() -> None:
    rules = {case["rule"] for case in CASES}
    for line in (
        "a private secret (no domain) cannot be sent anywhere",
        "* allows any host",
        "api.example.com allows exactly that host",
        "*.example.com allows any host ending in .example.com",
        "*.example.com allows hosts at any depth*",
        "*.example.com does not allow example.com itself*",
        "host comparison ignores case*",
        "host comparison ignores port*",
        "host comparison ignores scheme*",
        "international host names compare in their UTS 46 (IDNA 2008) ASCII form*",
        "a URL without a host is an error",
    ):
        assert line in rules
    assert {case["expect"] for case in CASES} == {"allowed", "refused", "bad_url"}
    # Every case marked as a choice says so in its rule text.
    for case in CASES:
        marked = case["rule"].endswith(("*", "(project choice)"))
        assert case["choice"] == marked, case["rule"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_client_and_fake_agree_with_the_table(case: dict[str, Any]) -> None:
    domain, url, expect = case["domain"], case["url"], case["expect"]
    answers = {
        "client": _client_answer(domain, url),
        "fake, secret in a header": _fake_answer_header(domain, url),
        "fake, secret as the URL": _fake_answer_url(domain, url),
    }
    assert answers == dict.fromkeys(answers, expect), case["rule"]


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"] == "refused"], ids=_case_id)
def test_client_suggests_the_domains_the_table_expects(case: dict[str, Any]) -> None:
    check = check_domain(case["domain"], case["url"])
    assert list(check.suggestions) == case["suggest"]
    assert "*" not in check.suggestions
    for suggestion in check.suggestions:
        # Every suggestion really allows the host, by both implementations.
        assert check_domain(suggestion, case["url"]).allowed
        assert _fake_answer_header(suggestion, case["url"]) == "allowed"


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"] != "bad_url"], ids=_case_id)
def test_prefixed_and_suffixed_secrets_follow_the_same_rule(case: dict[str, Any]) -> None:
    server = _server(case["domain"], case["url"])
    secret = server.get_secret("TOKEN")
    if not case["domain"]:
        # "a private secret cannot be prefixed, suffixed or sent anywhere"
        with pytest.raises(GameServerError, match="private"):
            secret.add_prefix("Bearer ")
        with pytest.raises(GameServerError, match="private"):
            secret.add_suffix("!")
        return
    header = secret.add_prefix("Bearer ").add_suffix(";v=1")
    assert isinstance(header, Secret)
    try:
        sent = server.http_request(case["url"], headers={"Authorization": header})
    except GameServerError:
        assert case["expect"] == "refused"
    else:
        assert case["expect"] == "allowed"
        assert sent.headers["Authorization"] == f"Bearer {VALUE};v=1"
