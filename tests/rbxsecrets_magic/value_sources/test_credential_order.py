"""The credential order: the session's login, then RBX_API_KEY/RBX_OAUTH_TOKEN, then the keyring."""

from __future__ import annotations

import pytest

from rbxsecrets_magic.credentials import store
from rbxsecrets_magic.credentials.chain import find_credential
from rbxsecrets_magic.settings import Credential
from tests.rbxsecrets_magic.value_sources.real_parts import SecretService

URL = "https://apis.roblox.com"
KEPT = "kept-in-the-keyring-0123456789"


def test_each_source_wins_over_the_next(secret_service: SecretService) -> None:
    store.save_login(URL, Credential("api key", KEPT))
    search = find_credential(URL, environ={})
    assert search.found is not None and search.found.credential.secret == KEPT
    assert search.found.describe() == "API key from the system keyring"
    env = {"RBX_OAUTH_TOKEN": "oauth-token-from-env"}
    search = find_credential(URL, environ=env)
    assert (
        search.found is not None and search.found.describe() == "OAuth token from RBX_OAUTH_TOKEN"
    )
    env["RBX_API_KEY"] = "api-key-from-env"
    search = find_credential(URL, environ=env)
    assert search.found is not None and search.found.describe() == "API key from RBX_API_KEY"
    session = Credential("api key", "typed-at-the-login-magic")
    search = find_credential(URL, environ=env, session=session)
    assert (
        search.found is not None and search.found.describe() == "API key from the session's login"
    )
    # A key kept for another base URL is not used.
    assert find_credential("https://proxy.example.com", environ={}).found is None


def test_nothing_found_says_what_to_do(secret_service: SecretService) -> None:
    search = find_credential(URL, environ={})
    assert search.found is None and search.keyring_problem is None
    assert search.no_credential_message() == (
        "No credential: run rbx-secrets login, or set RBX_API_KEY (or RBX_OAUTH_TOKEN) to an "
        "Open Cloud API key with the secret-store API system."
    )


def test_without_a_keyring_the_message_says_it_was_not_asked(no_keyring: None) -> None:
    search = find_credential(URL, environ={})
    assert search.found is None
    message = search.no_credential_message()
    assert "The keyring was not asked: no system keyring is available here" in message
    assert "\n" not in message


def test_a_malformed_environment_credential_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError) as caught:
        find_credential(URL, environ={"RBX_API_KEY": "two words"})
    assert "two words" not in str(caught.value)
