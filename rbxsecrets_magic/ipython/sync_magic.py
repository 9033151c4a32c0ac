"""The notebook side of secrets as code: ``%rbx_secret_sync`` and manifest-aware ``--universe``.

The magics class stays thin: it parses the line and calls these functions with what only it
knows (its clients, which carry a ``%rbx_secret_login`` key and one shared pacer; how to show
a result; how to ask a question; a progress bar). Everything here raises the package's own
errors or :class:`DeclinedError`; the magic turns them into a one-line ``UsageError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DeclinedError
from ..secrets_as_code.manifest import Manifest, Target, split_tokens
from ..settings import ENV_UNIVERSE_ID

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..secrets_as_code.apply import ApplyReport
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
    yes: bool = False


def run_sync(
    options: SyncOptions,
    *,
    configured_manifest: str,
    default_universe: int | None,
    client_for: Callable[[int], SecretsClient],
    show: Callable[[Any], None],
    ask: Callable[[str], bool | None],
    progress_bar: Callable[[int, str], AbstractContextManager[Any]],
    environ: Mapping[str, str] | None = None,
) -> Plan | ApplyReport:
    """Plan, show the plan, confirm deletions, apply with a progress bar, show the report.

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
    ask:
        Asks a yes/no question; returns None when nothing can ask (headless kernel).
    progress_bar:
        ``progress_bar(total, description)``, a context manager with ``update(n)``.

    Returns
    -------
    Plan or ApplyReport
        The plan with ``dry_run`` (or nothing to do), else the report.

    Raises
    ------
    DeclinedError
        Deletions were not confirmed; nothing was changed.
    ManifestError, InvalidInputError, ValueSourceError, ApiError, TransportError
        As the underlying steps raise them, all before any write except the last two.
    """
    from ..secrets_as_code.apply import apply_plan
    from ..secrets_as_code.desired import desired_state
    from ..secrets_as_code.plan import make_plan
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
    )
    clients = {t.universe_id: client_for(t.universe_id) for t in desired.targets}
    state = StateStore()
    plan = make_plan(desired, clients, state, prune=options.prune, protect=options.protect)
    show(plan)
    if options.dry_run or not plan.pending:
        return plan
    _confirm(plan, options.yes, ask)
    with progress_bar(len(plan.pending), "applying") as bar:
        report = apply_plan(plan, clients, state, progress=lambda _o: bar.update(1))
    show(report)
    return report


def _confirm(plan: Plan, yes: bool, ask: Callable[[str], bool | None]) -> None:
    if not plan.deletions or yes:
        return
    answer = ask(f"{plan.deletion_question()} [y/N] ")
    if answer is None:
        raise DeclinedError(
            "the plan deletes secrets and this frontend cannot ask; nothing "
            "was changed: add --yes to confirm"
        )
    if not answer:
        raise DeclinedError("deletion not confirmed; nothing was changed")
