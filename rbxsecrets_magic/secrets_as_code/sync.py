"""Wiring shared by ``rbx-secrets`` and the magics: desired state, one client per universe.

:func:`load_desired` reads the manifest (or takes an ``.env`` file alone) and the values;
:func:`open_clients` makes a client for every target universe, all on one base URL and one
credential, sharing one :class:`~rbxsecrets_magic.opencloud.pacing.Pacer`: the rate limit is
per API key
owner, so clients that each paced themselves would together overrun it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..opencloud.pacing import Pacer
from ..settings import DEFAULT_MAX_RETRIES, DEFAULT_RATE_LIMIT, DEFAULT_TIMEOUT, Credential
from .desired import DesiredState, desired_state
from .manifest import Manifest, find_manifest, load_manifest

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from .manifest import Target

__all__ = ["close_clients", "load_desired", "load_manifest_or_none", "open_clients"]


def load_manifest_or_none(
    path: str | None, cwd: str | os.PathLike[str] | None = None
) -> Manifest | None:
    """The manifest at ``path``, else ``rbxsecrets.toml`` in ``cwd`` if present, else None.

    Raises
    ------
    ManifestError
        When the manifest named or found breaks a rule.
    """
    found = find_manifest(path, cwd)
    return load_manifest(found) if found is not None else None


def load_desired(
    manifest_path: str | None,
    *,
    env_file: str | None = None,
    universes: Sequence[str] = (),
    environments: Sequence[str] = (),
    domain: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> DesiredState:
    """Read the manifest and the values, and resolve the targets; nothing is sent.

    Raises
    ------
    ManifestError, InvalidInputError, ValueSourceError
        For any problem with the manifest, the options or the ``.env`` file.
    """
    manifest = load_manifest_or_none(manifest_path, cwd)
    return desired_state(
        manifest,
        env_file=env_file,
        universes=universes,
        environments=environments,
        domain=domain,
        environ=environ,
    )


def open_clients(
    targets: Iterable[Target | int],
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    credential: Credential | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
    pacer: Pacer | None = None,
) -> dict[int, SecretsClient]:
    """A client per universe, all with the same base URL and credential and one pacer.

    The credential is ``credential`` (an API key or OAuth token, e.g. from the keyring), else
    ``api_key``, else ``RBX_API_KEY``, then ``RBX_OAUTH_TOKEN``. ``pacer`` defaults
    to a new one for ``rate_limit``, shared by every client made here.

    Raises
    ------
    InvalidInputError
        For a missing credential or an unsafe base URL.
    """
    from ..opencloud.client import SecretsClient

    oauth_token = None
    if credential is not None:
        api_key = credential.secret if credential.kind == "api key" else None
        oauth_token = credential.secret if credential.kind == "OAuth token" else None
    shared = pacer if pacer is not None else Pacer(rate_limit)
    clients: dict[int, SecretsClient] = {}
    try:
        for target in targets:
            universe = target if isinstance(target, int) else target.universe_id
            if universe in clients:
                continue
            clients[universe] = SecretsClient(
                universe,
                api_key=api_key,
                oauth_token=oauth_token,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
                pacer=shared,
            )
    except BaseException:
        close_clients(clients)
        raise
    return clients


def close_clients(clients: Mapping[int, SecretsClient]) -> None:
    """Close every client's session."""
    for client in clients.values():
        client.close()
