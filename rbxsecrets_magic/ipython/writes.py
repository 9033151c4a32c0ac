"""How the writing magics report: bulk sets from a .env file, restarts, failures in one line.

Mixed into :class:`~rbxsecrets_magic.ipython.magics.RbxSecretsMagics`; the rules themselves are
the operations layer's (:mod:`rbxsecrets_magic.operations`).
"""

# IPython.display carries no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import RbxSecretsError
from .wording import _explain, _fail, _one_line, _quoted

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient, SetResult
    from ..operations.interaction import Interaction
    from ..operations.results import WriteReport
    from ..operations.rollout import RestartOptions, RestartTarget
    from ..operations.writes import RestartRequest


class WritesMixin:
    """The magics' side of writes: bulk sets, restart options and failures in one line."""

    # Set by RbxSecretsMagics and SessionMixin.
    concurrency: int
    _given: list[str]
    known_ids: dict[int, set[str]]
    _client: Callable[[str, int], SecretsClient]
    _check_domain: Callable[[str | None], str | None]
    _universes: Callable[[str, str | None], list[int]]
    _interaction: Callable[[], Interaction]

    def _raise_failures(self, magic: str, report: WriteReport) -> None:
        """Fail, in one line, when a write or a restart was not done."""
        from ..operations.rollout import summarize_failures

        failed = report.failed
        if failed:
            first = failed[0]
            exc = first.exc
            message = _explain(exc, magic) if isinstance(exc, RbxSecretsError) else str(first.error)
            deleted = [
                r.id for r in report.rows if r.universe == first.universe and r.result == "done"
            ]
            if first.action == "delete" and deleted:
                left = [
                    r.id
                    for r in report.rows
                    if r.universe == first.universe and r.result in ("failed", "unknown")
                ]
                message += f" (already deleted: {_quoted(deleted)}; not deleted: {_quoted(left)})"
            if report.restarts:
                message += " Restarted only where every write was done (see above)."
            elif report.notes:
                message += " Nothing was restarted."
            raise _fail(magic, message)
        failure = summarize_failures(report.restarts)
        if failure is not None:
            raise _fail(magic, failure)

    def _restart_option(self, magic: str, args: argparse.Namespace) -> RestartRequest | None:
        """--restart's options (None without it); the rollout options need --restart."""
        from ..operations.writes import RestartRequest

        if not args.restart:
            extra = [
                o
                for o, given in (
                    ("--bleed-off", args.bleed_off is not None),
                    ("--wait", args.wait),
                    ("--timeout", args.timeout is not None),
                    ("--legacy", args.legacy),
                    ("--yes", args.yes and magic == "rbx_secret_set"),
                )
                if given
            ]
            if extra:
                raise _fail(
                    magic,
                    f"{' and '.join(extra)} work{'s' if len(extra) == 1 else ''} "
                    "only with --restart",
                )
            return None
        return RestartRequest(self._restart_options(args), args.yes)

    @staticmethod
    def _restart_options(args: argparse.Namespace, places: str | None = None) -> RestartOptions:
        """The rollout options of the line, by the operations' one rule."""
        from ..operations.rollout import parse_restart_options

        return parse_restart_options(
            places=places,
            bleed_off=args.bleed_off,
            legacy=args.legacy,
            wait=args.wait,
            timeout=args.timeout,
        )

    def _roll_out(
        self, magic: str, targets: list[RestartTarget], options: RestartOptions, yes: bool
    ) -> None:
        """Describe, confirm and restart (rollout's rule); fail unless every restart is done."""
        from ..operations.rollout import roll_out, summarize_failures

        outcomes = roll_out(
            targets,
            options,
            lambda u: self._client(magic, u),
            yes=yes,
            interaction=self._interaction(),
        )
        failure = summarize_failures(outcomes)
        if failure is not None:
            raise _fail(magic, failure)

    def _set_env_file(self, args: argparse.Namespace) -> None:

        magic = "rbx_secret_set"
        clashes = [
            opt
            for opt, given in (
                ("NAME", args.name is not None),
                ("--from-env", args.from_env is not None),
                ("--from-file", args.from_file is not None),
                ("--from-var", args.from_var is not None),
                ("--confirm", args.confirm),
            )
            if given
        ]
        if clashes:
            raise _fail(
                magic,
                f"--env-file takes the names and values from the file; drop {', '.join(clashes)}",
            )
        domain = self._check_domain(args.domain)
        universes = self._universes(magic, args.universe)
        from ..values import read_env_file

        values = read_env_file(args.env_file)
        self._given.extend(values.values())
        failed = [
            self._set_env_file_in(universe, values, domain, args.dry_run) for universe in universes
        ]
        if any(failed):
            where = "; ".join(
                f"{n} of {len(values)} entries failed (or have an unknown outcome) in universe {u}"
                for u, n in zip(universes, failed, strict=True)
                if n
            )
            raise _fail(
                magic,
                f"{where} (see the table); fix the cause and run the same "
                "command again: secrets already set are updated, not duplicated",
            )

    def _set_env_file_in(
        self, universe: int, values: dict[str, str], domain: str | None, dry_run: bool
    ) -> int:
        """Set (or, dry, preview) every entry in one universe; return how many failed."""
        from IPython.display import display

        from ..render.tables import SetRow, SetSummary

        client = self._client("rbx_secret_set", universe)
        if dry_run:
            existing = {info.id for info in client.list()}
            self.known_ids[universe] = set(existing)
            rows = [
                SetRow(name, "would update" if name in existing else "would create", len(value))
                for name, value in values.items()
            ]
            display(SetSummary(universe, rows, dry_run=True))
            return 0
        client.public_key()
        with self._interaction().progress(len(values), f"universe {universe}") as bar:

            def advance(_result: SetResult) -> None:
                bar.update(1)

            results = client.set_many(
                values, domain=domain, concurrency=self.concurrency, progress=advance
            )
        rows = [
            SetRow(
                r.secret_id,
                "unknown" if r.outcome_unknown else r.action,
                len(values[r.secret_id]),
                _one_line(str(r.error)) if r.error is not None else "",
            )
            for r in results
        ]
        summary = SetSummary(universe, rows)
        self.known_ids.setdefault(universe, set()).update(
            r.secret_id for r in results if r.action != "failed"
        )
        display(summary)
        return len(summary.failed)
