"""One client per universe and credential, and one pacer per credential, for both front ends.

Roblox's rate limit is per API key owner, so every client of one credential shares one
:class:`~rbxsecrets_magic.opencloud.pacing.Pacer` (clients pacing themselves would together
overrun it), while two credentials never slow each other down. The pool keeps its clients (and
their connections) until :meth:`ClientPool.close`; a client whose configuration changed is
replaced, and the old one closed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from ..settings import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    env_credential,
)

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..opencloud.pacing import Pacer
    from ..settings import Credential

__all__ = ["ClientPool", "NoCredentialError"]


class NoCredentialError(InvalidInputError):
    """No credential was given and the environment holds none; front ends say how to give one."""

    def __init__(self) -> None:
        super().__init__("no credential for Open Cloud")


class ClientPool:
    """Clients by universe, configuration and credential; a pacer per credential.

    Parameters
    ----------
    rate_limit:
        The rate limit each credential's pacer keeps to.
    """

    def __init__(self, rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT) -> None:
        self._rate_limit = rate_limit
        self._clients: dict[tuple[object, ...], SecretsClient] = {}
        self._pacers: dict[str, Pacer] = {}

    def client(
        self,
        universe: int,
        *,
        api_key: str | None = None,
        credential: Credential | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> SecretsClient:
        """The pool's client for ``universe`` with ``credential`` (an API key or OAuth token,
        e.g. from the keyring), else ``api_key``, else the environment's credential.

        Raises
        ------
        NoCredentialError
            Without ``api_key`` and with neither ``RBX_API_KEY`` nor ``RBX_OAUTH_TOKEN`` set.
        InvalidInputError
            For an unusable credential or base URL.
        """
        oauth_token = None
        if credential is not None:
            api_key = credential.secret if credential.kind == "api key" else None
            oauth_token = credential.secret if credential.kind == "OAuth token" else None
        digest = self._digest(api_key or oauth_token)
        key = (universe, base_url, timeout, max_retries, os.environ.get(ENV_BASE_URL), digest)
        client = self._clients.get(key)
        if client is None:
            client = self._new(
                universe, (api_key, oauth_token), base_url, timeout, max_retries, digest
            )
            # The configuration or credential changed: the old client is of no more use.
            for stale in [k for k in self._clients if k[0] == universe]:
                self._clients.pop(stale).close()
            self._clients[key] = client
        return client

    def pacer(self, api_key: str | None = None) -> Pacer:
        """The pacer shared by every client of ``api_key`` (else the environment's credential)."""
        return self._pacer_for(self._digest(api_key))

    def _pacer_for(self, digest: str) -> Pacer:
        pacer = self._pacers.get(digest)
        if pacer is None:
            from ..opencloud.pacing import Pacer

            pacer = self._pacers[digest] = Pacer(self._rate_limit)
        return pacer

    def close(self) -> None:
        """Close every client's session (the pacers are kept: the limit outlives a client)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _digest(api_key: str | None) -> str:
        if api_key is None:
            found = env_credential()
            if found is None:
                raise NoCredentialError
            api_key = found.secret
        # Imported here, not at the top: the magics build a pool at %load_ext, and hashlib's
        # OpenSSL start-up would be a few milliseconds of every IPython start.
        import hashlib

        return hashlib.sha256(api_key.encode()).hexdigest()

    def _new(
        self,
        universe: int,
        secret: tuple[str | None, str | None],
        base_url: str | None,
        timeout: float,
        max_retries: int,
        digest: str,
    ) -> SecretsClient:
        from ..opencloud.client import SecretsClient

        return SecretsClient(
            universe,
            api_key=secret[0],
            oauth_token=secret[1],
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            pacer=self._pacer_for(digest),
        )
