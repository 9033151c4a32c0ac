"""The notebook side of secrets as code: ``%rbx_secret_sync`` and manifest-aware ``--universe``.

The magics class stays thin: it parses the line and calls these functions with what only it
knows (its clients, which carry a ``%rbx_secret_login`` key and one shared pacer; how to show
a result; how to ask a question; a progress bar). Everything here raises the package's own
errors (:class:`~rbxsecrets_magic.errors.NotConfirmedError` among them); the magic turns them
into a one-line ``UsageError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..secrets_as_code.manifest import Manifest, Target, split_tokens
from ..settings import ENV_UNIVERSE_ID

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..operations.interaction import Interaction
    from ..operations.sync import SyncReport
    from ..operations.writes import RestartRequest
    from ..secrets_as_code.plan import Plan

__all__ = [
    "SyncOptions",
    "manifest_for_magics",
    "resolve_universe_option",
    "run_sync",
]


def manifest_for_magics(
    configured: str, cwd: str | os.PathLike[str] | None = None
) -> Manifest | None:
    """The manifest the magics use: the configured path, else ``rbxsecrets.toml`` if present.

    Raises
    ------
    ManifestError
        When the configured file is missing or the manifest breaks a rule.
    """
    from ..secrets_as_code.manifest import ManifestError
    from ..secrets_as_code.sync import load_manifest_or_none

    if configured and not Path(configured).expanduser().is_file():
        raise ManifestError(
            "the manifest set with %config RbxSecretsMagics.manifest does not exist or is not "
            'a file: set it to an existing file, or to "" for rbxsecrets.toml here'
        )
    return load_manifest_or_none(configured or None, cwd)


def resolve_universe_option(
    given: str | None,
    manifest: Manifest | None,
    default: int | None,
) -> list[Target]:
    """Targets for a magic's ``--universe``: ids or environment names, comma-separated.

    ``None`` falls back to ``default`` (the configured universe); an empty result is for the
    caller to report.

    Raises
    ------
    ManifestError
        For a token that is neither a universe id nor an environment of the manifest.
    """
    if given is None:
        if default is None:
            return []
        env = manifest.environment_of(default) if manifest is not None else None
        return [Target(default, env)]
    resolver = manifest if manifest is not None else Manifest(path=None)
    return resolver.targets(split_tokens([given]), everywhere=False)


@dataclass(frozen=True)
class SyncOptions:
    """The options of ``%rbx_secret_sync`` (comma lists already allowed in the strings)."""

    manifest: str | None = None
    env_file: str | None = None
    universe: str | None = None
    environment: str | None = None
    prune: bool = False
    protect: Sequence[str] = ()
    dry_run: bool = False
    atomic: bool = False
    yes: bool = False
    restart: RestartRequest | None = None


def run_sync(
    options: SyncOptions,
    *,
    configured_manifest: str,
    default_universe: int | None,
    client_for: Callable[[int], SecretsClient],
    show: Callable[[object], None],
    interaction: Interaction,
    environ: Mapping[str, str] | None = None,
) -> Plan | SyncReport:
    """Plan, show the plan, and (unless a dry run) apply it and show the report.

    Parameters
    ----------
    options:
        The magic's options.
    configured_manifest:
        ``RbxSecretsMagics.manifest`` ("" = ``rbxsecrets.toml`` here, if present).
    default_universe:
        The configured universe, used when neither ``--universe`` nor ``--environment`` is
        given (else every environment of the manifest).
    client_for:
        The magics' cached client for a universe (session key, shared pacer).
    show:
        Displays a plan or report (``IPython.display.display``).
    interaction:
        Asks (deletions, restarts), says, and shows a progress bar while applying.

    Returns
    -------
    Plan or SyncReport
        The plan with ``dry_run`` or when nothing needed a write, else what was applied.

    Raises
    ------
    NotConfirmedError
        Deletions or the restart were not confirmed; nothing was changed.
    ManifestError, InvalidInputError, ValueSourceError, ApiError, TransportError
        As the underlying steps raise them, all before any write except the last two.
    """
    from ..operations.sync import apply, plan
    from ..secrets_as_code.desired import desired_state
    from ..secrets_as_code.state import StateStore

    env = dict(os.environ if environ is None else environ)
    if options.manifest:
        from ..secrets_as_code.sync import load_manifest_or_none

        manifest = load_manifest_or_none(options.manifest)
    else:
        manifest = manifest_for_magics(configured_manifest)
    if default_universe is not None and not options.universe and not options.environment:
        env[ENV_UNIVERSE_ID] = str(default_universe)
    desired = desired_state(
        manifest,
        env_file=options.env_file,
        universes=[options.universe] if options.universe else [],
        environments=[options.environment] if options.environment else [],
        environ=env,
        default_named="the configured universe (RbxSecretsMagics.universe_id or RBX_UNIVERSE_ID)",
    )
    clients = {t.universe_id: client_for(t.universe_id) for t in desired.targets}
    state = StateStore()
    planned = plan(desired, clients, state, prune=options.prune, protect=options.protect)
    for note in planned.notes:
        interaction.say(f"note: {note}")
    show(planned)
    if options.dry_run or (not planned.pending and options.restart is None):
        return planned
    result = apply(
        planned,
        clients,
        state,
        yes=options.yes,
        atomic=options.atomic,
        restart=options.restart,
        interaction=interaction,
    )
    if planned.pending:
        show(result.report)
    return result
