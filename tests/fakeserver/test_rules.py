"""The pure request rules, without a fake around them."""

from __future__ import annotations

import pytest

from fakeserver.backend import rules
from fakeserver.errors import BadRequest


@pytest.mark.parametrize(
    ("limit", "max_page_size", "expected"),
    [
        (None, None, rules.DEFAULT_PAGE_SIZE),
        ("3", None, 3),
        (None, "7", 7),
        ("2", "9", 2),
        ("500", None, 500),
    ],
)
def test_page_size_prefers_limit(
    limit: str | None, max_page_size: str | None, expected: int
) -> None:
    assert rules.parse_page_size(limit, max_page_size) == expected


@pytest.mark.parametrize("text", ["0", "501", "-1", "1.5", "", "١", "9999999"])
def test_page_size_out_of_range_is_400(text: str) -> None:
    with pytest.raises(BadRequest, match="limit must be an integer from 1 to 500"):
        rules.parse_page_size(text, None)


def test_cursor_round_trips_only_for_its_key_and_universe() -> None:
    cursor = rules.make_cursor(b"k" * 32, 7, "N", "api_token")
    assert rules.read_cursor(b"k" * 32, 7, cursor) == ("N", "api_token")
    for key, universe in ((b"x" * 32, 7), (b"k" * 32, 8)):
        with pytest.raises(BadRequest, match="cursor"):
            rules.read_cursor(key, universe, cursor)


def test_missing_secret_names_only_valid_ids() -> None:
    assert rules.missing_secret("api_token") == "secret 'api_token' does not exist"
    assert rules.missing_secret("../etc") == "secret does not exist"


@pytest.mark.parametrize("text", ["", " padded ", "tab\tinside", "ключ"])
def test_credential_text_must_be_sendable_and_is_never_quoted(text: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII") as caught:
        rules.check_credential_text(text, "key")
    assert text.strip() == "" or text.strip() not in str(caught.value)
