"""Which credential a run uses, and from where: the documented order, in one place.

1. the session's login (``%rbx_secret_login``; a front end passes it in);
2. ``RBX_API_KEY``, then ``RBX_OAUTH_TOKEN``;
3. the system keyring, for the API base URL (``rbx-secrets login``).

:func:`find_credential` returns the credential with the name of its source, which
``rbx-secrets whoami`` shows (never the credential). A keyring that is missing or refuses is
passed over, and the reason kept for the "no credential" message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import KeyringUnavailableError
from ..settings import ENV_API_KEY, ENV_OAUTH_TOKEN, Credential, env_credential
from . import store

__all__ = ["CredentialSearch", "FoundCredential", "find_credential"]


@dataclass(frozen=True)
class FoundCredential:
    """A credential and where it came from.

    Attributes
    ----------
    credential:
        The API key or OAuth token (its repr hides it).
    source:
        Where it came from, for messages: ``"the session's login"``, ``"RBX_API_KEY"``,
        ``"RBX_OAUTH_TOKEN"`` or ``"the system keyring"``.
    """

    credential: Credential
    source: str

    def describe(self) -> str:
        """``"API key from RBX_API_KEY"``: the kind and the source, never the credential."""
        kind = "API key" if self.credential.kind == "api key" else "OAuth token"
        return f"{kind} from {self.source}"


@dataclass(frozen=True)
class CredentialSearch:
    """What :func:`find_credential` found, or why nothing.

    Attributes
    ----------
    found:
        The credential in use, or None.
    keyring_problem:
        Why the keyring could not be asked (no backend, refused), or None when it was.
    """

    found: FoundCredential | None
    keyring_problem: str | None = None

    def no_credential_message(self, login_hint: str = "run rbx-secrets login") -> str:
        """The one line for a run with no credential: what to do, and why no keyring."""
        keyring = ""
        if self.keyring_problem:
            keyring = f" The keyring was not asked: {self.keyring_problem}."
        return (
            f"No credential: {login_hint}, or set {ENV_API_KEY} (or {ENV_OAUTH_TOKEN}) to an "
            f"Open Cloud API key with the secret-store API system.{keyring}"
        )


def find_credential(
    base_url: str,
    *,
    session: Credential | None = None,
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> CredentialSearch:
    """The credential to use for ``base_url``, in the documented order.

    Raises
    ------
    InvalidInputError
        ``RBX_API_KEY`` or ``RBX_OAUTH_TOKEN`` holds something that cannot be a credential,
        or ``base_url`` is not one credentials may be sent to.
    """
    if session is not None:
        return CredentialSearch(FoundCredential(session, "the session's login"))
    env = os.environ if environ is None else environ
    from_env = env_credential(env)
    if from_env is not None:
        name = ENV_API_KEY if from_env.kind == "api key" else ENV_OAUTH_TOKEN
        return CredentialSearch(FoundCredential(from_env, name))
    if not use_keyring:
        return CredentialSearch(None)
    try:
        kept = store.load_login(base_url)
    except KeyringUnavailableError as exc:
        return CredentialSearch(None, exc.reason)
    if kept is None:
        return CredentialSearch(None)
    return CredentialSearch(FoundCredential(kept, "the system keyring"))
