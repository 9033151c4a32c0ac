"""The client's domain preflight: hosts, the rule, suggestions and the sentences users read.

The rule's cases live in tests/data/domain_cases.json (run against the fake too, in
tests/test_domain_rule.py); this module pins what only the client does.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from rbxsecrets_magic.errors import InvalidInputError
from rbxsecrets_magic.opencloud.domains import (
    DomainCheck,
    check_domain,
    domain_allows,
    suggest_domains,
    url_host,
)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://API.Example.com:8443/v1?x=1#f", "api.example.com"),
        ("http://user:pw@api.example.com", "api.example.com"),
        ("https://api.example.com.", "api.example.com"),
        ("https://api.example.com?q=1", "api.example.com"),
        ("https://api.example.com#frag", "api.example.com"),
        ("HTTP://[2001:DB8:0:0:0:0:0:1]:80/", "[2001:db8::1]"),
        ("https://b\u00fccher.example/", "xn--bcher-kva.example"),
        ("https://127.0.0.1/", "127.0.0.1"),
    ],
)
def test_url_host_normalizes(url: str, host: str) -> None:
    assert url_host(url) == host


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "has no host"),
        ("api.example.com/v1", "has no host"),
        ("https://", "has no host"),
        ("ws://api.example.com/", "only http:// and https://"),
        ("https://a b.example/", "backslash, a space or a control"),
        ("https://a\x00b.example/", "backslash, a space or a control"),
        ("https://[::1", "not closed"),
        ("https://[::1]x/", "not closed"),
        ("https://[zz::1]/", "not a valid IPv6"),
        ("https://a.example:-1/", "port"),
        ("https://a_b.example/", "not a host name"),
        ("https://" + "a." * 127 + "com/", "not a host name"),
        ("https://" + "\u00fc" * 64 + ".example/", "international"),
    ],
)
def test_bad_urls_are_one_clear_line_without_the_url(url: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        url_host(url)
    message = str(info.value)
    assert words in message
    assert message.startswith("Invalid URL")
    assert "\n" not in message
    if len(url) > 12:
        assert url not in message


def test_url_must_be_text() -> None:
    with pytest.raises(InvalidInputError, match="expected a string, got bytes"):
        url_host(b"https://a.example/")  # type: ignore[arg-type]


def test_a_token_in_the_url_never_reaches_the_message() -> None:
    token = "sk_live_4f9a2c"
    for url in (f"https://x.example/?key={token}", f"https://{token}@x.example/"):
        check = check_domain(None, url)
        assert token not in check.explain("K")
        assert token not in repr(check)
    with pytest.raises(InvalidInputError) as info:
        check_domain("*", f"api.example.com/?key={token}")
    assert token not in str(info.value)


def test_domain_allows_matches_the_rule() -> None:
    assert domain_allows("*", "[::1]")
    assert domain_allows("*.EXAMPLE.com", "a.b.example.com")
    assert not domain_allows("*.example.com", "example.com")
    assert not domain_allows(None, "example.com")
    assert not domain_allows("", "example.com")
    assert domain_allows("Example.com", "example.com")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("api.example.com", ("api.example.com", "*.example.com")),
        ("a.b.example.com", ("a.b.example.com", "*.b.example.com")),
        ("example.com", ("example.com",)),
        ("localhost", ("localhost",)),
        ("api.example.co.uk", ("api.example.co.uk", "*.example.co.uk")),
        ("example.co.uk", ("example.co.uk",)),
        ("example.com.au", ("example.com.au",)),
        ("shop.example.io", ("shop.example.io", "*.example.io")),
        ("10.0.0.1", ("10.0.0.1",)),
        ("[::1]", ()),
    ],
)
def test_suggestions_never_include_star_or_a_registry_wildcard(
    host: str, expected: tuple[str, ...]
) -> None:
    assert suggest_domains(host) == expected


def test_check_reports_the_normalized_domain_and_host() -> None:
    check = check_domain("*.Example.COM", "https://API.example.com:1/")
    assert check == DomainCheck(True, "*.example.com", "api.example.com", ())
    assert check_domain("", "https://a.example/").domain is None


def test_an_invalid_stored_domain_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="Invalid domain"):
        check_domain("https://api.example.com", "https://api.example.com/")


def test_explain_yes() -> None:
    assert check_domain("*.example.com", "https://api.example.com/v1").explain("API_KEY") == (
        "Yes: a game server can send API_KEY to api.example.com "
        "(domain '*.example.com' allows api.example.com)."
    )
    assert check_domain("*", "https://x.test/").explain() == (
        "Yes: a game server can send the secret to x.test (domain '*' allows every host)."
    )


def test_explain_private() -> None:
    assert check_domain(None, "https://api.example.com/v1").explain("API_KEY") == (
        "No: API_KEY is private (no domain), so a game server cannot send it anywhere. "
        "To allow it, set --domain api.example.com (this host only) or "
        "--domain '*.example.com' (every host under example.com)."
    )


def test_explain_exact_domain_says_the_new_one_replaces_it() -> None:
    assert check_domain("api.example.com", "https://cdn.example.com/").explain("K") == (
        "No: the domain api.example.com of K does not allow cdn.example.com. "
        "To allow it, set --domain cdn.example.com (this host only) or "
        "--domain '*.example.com' (every host under example.com). "
        "A secret has one domain: this replaces api.example.com."
    )


def test_explain_apex_under_a_wildcard_names_star_as_the_costly_only_cover() -> None:
    text = check_domain("*.example.com", "https://example.com/").explain("K")
    assert text == (
        "No: the domain '*.example.com' of K does not allow example.com. "
        "To allow it, set --domain example.com (this host only). "
        "A secret has one domain: this replaces '*.example.com', and only '*' (every host) "
        "covers both example.com and its subdomains."
    )


def test_explain_ipv6_says_what_star_costs() -> None:
    text = check_domain(None, "http://[::1]:8080/").explain("K")
    assert text == (
        "No: K is private (no domain), so a game server cannot send it anywhere. "
        "No domain can name an IPv6 address: only --domain '*' would allow it, and '*' lets "
        "a game server send K to every host; prefer a host name."
    )


def test_every_explanation_is_one_line() -> None:
    for domain in (None, "*", "a.example.com", "*.example.com"):
        for url in ("https://a.example.com/", "https://example.com/", "http://[::1]/"):
            assert "\n" not in check_domain(domain, url).explain("K")


def test_importing_the_module_imports_no_third_party_library() -> None:
    code = (
        "import sys, rbxsecrets_magic.opencloud.domains\n"
        "print(sorted(m for m in ('requests', 'nacl', 'urllib3', 'IPython') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("domain", ["faß.de", "*.Bücher.example", "ｅｘａｍｐｌｅ.com"])
def test_an_international_domain_is_asked_for_in_its_ascii_form(domain: str) -> None:
    """Which ASCII form (UTS 46, not IDNA 2003) is for the user to give; it is never guessed,
    and never shown (punycode would spell out whatever was typed)."""
    from rbxsecrets_magic.opencloud.validation import validate_domain

    with pytest.raises(InvalidInputError) as caught:
        validate_domain(domain)
    reason = str(caught.value).rsplit(": ", 1)[-1]
    assert "ASCII (xn--) form" in reason and "UTS 46" in reason
    assert "xn--" not in reason.replace("(xn--)", "")
