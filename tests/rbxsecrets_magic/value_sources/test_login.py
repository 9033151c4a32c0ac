"""Logging in for good: the key is checked in each universe, then kept in the keyring."""

from __future__ import annotations

from typing import Any

import pytest

from rbxsecrets_magic.credentials import store
from rbxsecrets_magic.errors import AuthenticationError, InvalidInputError, KeyringUnavailableError
from rbxsecrets_magic.operations.login import logout, save_login
from rbxsecrets_magic.settings import Credential
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING
from tests.rbxsecrets_magic.value_sources.real_parts import SecretService

TARGETS = [(STAGING, f"{STAGING} (staging)"), (PRODUCTION, f"{PRODUCTION} (production)")]


def test_a_key_reaching_one_universe_is_kept_and_says_which(
    cloud: Any, secret_service: SecretService
) -> None:
    key = cloud.fake.add_api_key(universe_ids=[STAGING])
    message = save_login(Credential("api key", key.key), TARGETS, base_url=cloud.url)
    assert message == (
        f"API key accepted for universe {STAGING} (staging); universe {PRODUCTION} (production) "
        f"refused it (no secret-store permission there); kept in the system keyring "
        f"(SecretService) for {cloud.url}; rbx-secrets logout removes it."
    )
    assert key.key not in message
    kept = store.load_login(cloud.url)
    assert kept is not None and kept.secret == key.key
    assert (
        logout(cloud.url) == f"Removed the credential kept in the system keyring for {cloud.url}."
    )
    assert store.load_login(cloud.url) is None
    assert logout(cloud.url).startswith("No credential was kept")


def test_an_oauth_token_is_kept_as_such(cloud: Any, secret_service: SecretService) -> None:
    token = cloud.fake.add_oauth_token()
    message = save_login(Credential("OAuth token", token.token), TARGETS, base_url=cloud.url)
    assert message.startswith(f"OAuth token accepted for universe {STAGING} (staging), ")
    kept = store.load_login(cloud.url)
    assert kept is not None and kept.kind == "OAuth token"


@pytest.mark.parametrize("reach", ["nothing", "unknown key"])
def test_a_key_that_reaches_nothing_is_not_kept(
    cloud: Any, secret_service: SecretService, reach: str
) -> None:
    if reach == "nothing":
        secret = cloud.fake.add_api_key(universe_ids=[1]).key
        expected: type[Exception] = InvalidInputError
    else:
        secret = "not-a-key-the-fake-knows-0123"
        expected = AuthenticationError
    with pytest.raises(expected) as caught:
        save_login(Credential("api key", secret), TARGETS, base_url=cloud.url)
    assert "nothing was kept" in str(caught.value).lower() and secret not in str(caught.value)
    assert store.load_login(cloud.url) is None
    with pytest.raises(InvalidInputError, match="no universe to check the API key in"):
        save_login(Credential("api key", cloud.api_key), [], base_url=cloud.url)


def test_without_a_keyring_nothing_is_sent(cloud: Any, no_keyring: None) -> None:
    with pytest.raises(KeyringUnavailableError, match="set RBX_API_KEY"):
        save_login(Credential("api key", cloud.api_key), TARGETS, base_url=cloud.url)
    assert cloud.fake.journal == []
