"""Logging in for good: check a credential against the API, then keep it in the keyring.

``rbx-secrets login`` and ``%rbx_secret_login --save`` both come here: the credential is
checked in every universe the run knows of (a public-key request each), and kept in the
system keyring for the base URL only if the API accepts it and it reaches at least one of
them. The message says which universes it can reach and which refused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..credentials import store
from ..errors import AuthenticationError, InvalidInputError, NotFoundError, PermissionDeniedError
from ..settings import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Credential,
    check_base_url,
    chosen_base_url,
)

__all__ = ["LoginCheck", "check_credential", "logout", "save_login"]


@dataclass(frozen=True)
class LoginCheck:
    """Which universes a credential reaches, and which refused it (with why, in a few words)."""

    reachable: tuple[tuple[int, str], ...]
    refused: tuple[tuple[int, str, str], ...]

    def describe(self, kind: str) -> str:
        """``API key accepted for universe 1 (staging); universe 2 (production) refused it ...``."""
        parts = []
        if self.reachable:
            labels = ", ".join(label for _, label in self.reachable)
            parts.append(f"{kind} accepted for universe {labels}")
        for _, label, why in self.refused:
            parts.append(f"universe {label} refused it ({why})")
        return "; ".join(parts)


def check_credential(
    credential: Credential,
    targets: Sequence[tuple[int, str]],
    *,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> LoginCheck:
    """Ask each universe of ``targets`` (id, label) for its public key with ``credential``.

    Raises
    ------
    AuthenticationError
        The API does not accept the credential at all.
    ApiError, TransportError
        Any other failure to get an answer.
    """
    from ..opencloud.client import SecretsClient

    api_key = credential.secret if credential.kind == "api key" else None
    oauth_token = credential.secret if credential.kind == "OAuth token" else None
    reachable: list[tuple[int, str]] = []
    refused: list[tuple[int, str, str]] = []
    for universe, label in targets:
        with SecretsClient(
            universe,
            api_key=api_key,
            oauth_token=oauth_token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        ) as client:
            try:
                client.public_key()
            except PermissionDeniedError:
                refused.append((universe, label, "no secret-store permission there"))
                continue
            except NotFoundError:
                refused.append((universe, label, "no such universe"))
                continue
        reachable.append((universe, label))
    return LoginCheck(tuple(reachable), tuple(refused))


def save_login(
    credential: Credential,
    targets: Sequence[tuple[int, str]],
    *,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> str:
    """Check ``credential`` in ``targets``, keep it in the keyring, and say what was done.

    Raises
    ------
    KeyringUnavailableError
        No keyring here (checked first, before any request).
    InvalidInputError
        No universe to check it in, or it reaches none of them: nothing was kept.
    AuthenticationError, ApiError, TransportError
        The API refused the credential or could not be asked: nothing was kept.
    """
    keyring_name = store.check_keyring()
    url = check_base_url(chosen_base_url(base_url))
    kind = "API key" if credential.kind == "api key" else "OAuth token"
    if not targets:
        raise InvalidInputError(
            f"no universe to check the {kind} in: give --universe U, set RBX_UNIVERSE_ID, or "
            "run it next to a manifest; nothing was kept"
        )
    try:
        check = check_credential(
            credential, targets, base_url=url, timeout=timeout, max_retries=max_retries
        )
    except AuthenticationError as exc:
        raise AuthenticationError(
            exc.status,
            exc.detail,
            doing=f"checking the {kind}",
            hint="Nothing was kept.",
            server=exc.server,
        ) from None
    if not check.reachable:
        raise InvalidInputError(f"{check.describe(kind)}: nothing was kept")
    store.save_login(url, credential)
    return (
        f"{check.describe(kind)}; kept in the system keyring ({keyring_name}) for {url}; "
        "rbx-secrets logout removes it."
    )


def logout(base_url: str | None = None) -> str:
    """Remove the credential kept for the base URL; say what was done.

    Raises
    ------
    KeyringUnavailableError
        No keyring here.
    """
    url = check_base_url(chosen_base_url(base_url))
    if store.delete_login(url):
        return f"Removed the credential kept in the system keyring for {url}."
    return f"No credential was kept in the system keyring for {url}; nothing to remove."
