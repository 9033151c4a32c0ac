"""Issue 8, A4: error text built from a server's answer never carries the value or the key.

A server (or a proxy in front of it) may echo what it was sent, in any encoding. Whatever the
form -- raw, across several lines, cut short, JSON-escaped, base64, URL-encoded, HTML-escaped,
upper or lower case, hex -- no substring of 8 or more characters of it, in that form, may reach
an error message, its repr, its attributes or its chain.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from nacl.public import PrivateKey

from rbxsecrets_magic import RbxSecretsError, SecretsClient
from tests.rbxsecrets_magic.support import CannedAdapter, canned_client, strings_reachable_from

PUBLIC = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
KEY = {"id": "public-key", "secret": PUBLIC, "key_id": "1"}
API_KEY = "Echoed-API-key-9f8e7d6c5b4a39281706"
FRAGMENT = 8

VALUES = {
    "multi-line": "first-line-S3CRET\nsecond\tline  S3CRET\r\n   third-line-S3CRET",
    "long": "".join(f"{i:03d}-long-S3CRET-" for i in range(40)),  # 600 characters
    "json": 'json\nS3CRET-with-"quotes"-and-\\backslash\\-and-\u00e9t\u00e9-s3cret',
    "plain": "plain-S3CRET-value-0123456789",
}


def _b64_forms(data: bytes) -> Iterator[str]:
    for shift in range(3):  # the value at any alignment inside a larger encoded text
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + data).decode()
            yield text[4:] if shift else text


def forms(value: str) -> dict[str, str]:
    """Every way a server might echo ``value``: what the message must not contain."""
    data = value.encode()
    found = {
        "raw": value,
        "collapsed": " ".join(value.split()),
        "json": json.dumps(value)[1:-1],
        "json-ascii": json.dumps(value, ensure_ascii=True)[1:-1],
        "json-twice": json.dumps(json.dumps(value)[1:-1])[1:-1],
        "repr": repr(value)[1:-1],
        "url": quote(value, safe=""),
        "url-plus": quote_plus(value),
        "html": html.escape(value),
        "upper": value.upper(),
        "lower": value.lower(),
        "hex": data.hex(),
    }
    for index, text in enumerate(_b64_forms(data)):
        found[f"base64-{index}"] = text
    return found


def leaked(text: str, secret: str) -> list[str]:
    """The forms of ``secret`` of which an 8-character piece appears in ``text``."""
    lowered = text.lower()
    bad = []
    for name, form in forms(secret).items():
        pieces = {form[i : i + FRAGMENT].lower() for i in range(len(form) - FRAGMENT + 1)}
        if any(piece in lowered for piece in pieces):
            bad.append(name)
    return bad


def _error_for(answer: tuple[int, Any, dict[str, str]], value: str) -> RbxSecretsError:
    client, _ = canned_client((200, KEY, {}), answer, api_key=API_KEY, max_retries=0)
    with pytest.raises(RbxSecretsError) as info:
        client.set("api_token", value)
    return info.value


def _echoes(text: str) -> list[tuple[int, Any, dict[str, str]]]:
    """The same echo in each shape of error body the client reads."""
    return [
        (400, {"detail": f"invalid value {text}"}, {}),
        (400, {"errors": [{"code": 3, "message": f"bad secret: {text}"}]}, {}),
        (400, {"errors": {"secret": [f"cannot store {text}"]}}, {}),
        (400, {"message": text}, {}),
        (400, f"bad request: the value {text} is refused", {"Content-Type": "text/plain"}),
        (418, text, {}),
    ]


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_no_form_of_an_echoed_value_reaches_the_error(kind: str) -> None:
    value = VALUES[kind]
    for form_name, form in forms(value).items():
        for answer in _echoes(form):
            error = _error_for(answer, value)
            text = "\n".join(strings_reachable_from(error))
            assert not leaked(text, value), (kind, form_name, answer[0], leaked(text, value))


@pytest.mark.parametrize("form_name", sorted(forms(API_KEY)))
def test_no_form_of_an_echoed_api_key_reaches_the_error(form_name: str) -> None:
    for answer in _echoes(forms(API_KEY)[form_name]):
        error = _error_for(answer, "an ordinary value")
        text = "\n".join(strings_reachable_from(error))
        assert not leaked(text, API_KEY), (form_name, answer, leaked(text, API_KEY))


def test_the_rest_of_the_server_text_survives_where_no_value_was_sent() -> None:
    client, _ = canned_client(
        (400, {"detail": f"cannot delete now; key {API_KEY}; see docs"}, {}),
        api_key=API_KEY,
        max_retries=0,
    )
    with pytest.raises(RbxSecretsError) as info:
        client.delete("api_token")
    assert "cannot delete now; key [redacted]; see docs" in str(info.value)


def test_a_write_that_carried_a_value_shows_no_server_text() -> None:
    """Issue 18, B9: fixed words instead (tests/security/test_write_error_text.py)."""
    value = VALUES["multi-line"]
    error = _error_for((400, {"detail": "domain is invalid; see docs"}, {}), value)
    assert "see docs" not in str(error)
    assert "its own words are not shown, as they could carry the value" in str(error)


def test_a_short_value_is_still_replaced_where_it_stands_whole() -> None:
    error = _error_for((400, {"detail": "value 'abc123' is refused"}, {}), "abc123")
    assert "abc123" not in str(error)


class _Raises(CannedAdapter):
    """A transport whose error text quotes the value (as some proxies' errors do)."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.method == "GET":
            return super().send(request, **kwargs)
        raise requests.ConnectTimeout(f"proxy said: {json.dumps(VALUES['json'])[1:-1]}")


def test_transport_error_text_is_scrubbed_the_same_way() -> None:
    adapter = _Raises((200, KEY, {}))
    session = requests.Session()
    session.mount("https://apis.roblox.com", adapter)
    client = SecretsClient(123, api_key=API_KEY, session=session, rate_limit=None, max_retries=0)
    with pytest.raises(RbxSecretsError) as info:
        client.set("api_token", VALUES["json"])
    text = "\n".join(strings_reachable_from(info.value))
    assert not leaked(text, VALUES["json"])
