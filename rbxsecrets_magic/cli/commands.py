"""What each ``rbx-secrets`` subcommand runs: it calls an operation and words the result.

The rules (state for every write, asking before deleting, deciding a restart before any write)
are the operations layer's (:mod:`rbxsecrets_magic.operations`); this module turns the command
line into a call and the results into lines on stdout and stderr, or JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..errors import (
    DeclinedError,
    InvalidInputError,
    NotConfirmedError,
)
from ..opencloud.validation import MAX_VALUE_CHARS
from ..settings import ENV_UNIVERSE_ID

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..operations.interaction import Interaction
    from ..operations.results import WriteReport, WriteRow
    from ..operations.rollout import RestartOptions
    from ..operations.writes import RestartRequest
    from ..secrets_as_code.apply import Outcome
    from ..secrets_as_code.manifest import Manifest, Target
    from ..secrets_as_code.plan import Plan
    from ..secrets_as_code.state import StateStore

from .console import EXIT_FAILED, EXIT_OK, PROG, Console, UsageFailure


@contextlib.contextmanager
def _planned(
    args: argparse.Namespace, console: Console
) -> Iterator[tuple[Plan, dict[int, SecretsClient], StateStore]]:
    """Make the plan; yield it with its clients and state, closing the clients after."""
    from ..operations.sync import plan as make_plan
    from ..secrets_as_code.state import StateStore
    from ..secrets_as_code.sync import close_clients, load_desired

    _domain_option(args.domain)  # refused without being repeated, before anything is read
    desired = load_desired(
        args.manifest,
        env_file=args.env_file,
        universes=args.universe,
        environments=args.environment,
        domain=args.domain,
        environ=console.environ,
    )
    state = StateStore()
    clients = _open_clients(desired.targets, args)
    try:
        for target in desired.targets:
            console.err(f"Planning universe {target.label}...")
        plan = make_plan(desired, clients, state, prune=args.prune, protect=args.protect)
        for note in plan.notes:
            console.err(f"{PROG}: note: {note}")
        yield plan, clients, state
    finally:
        close_clients(clients)


def _run_plan(args: argparse.Namespace, console: Console) -> int:
    with _planned(args, console) as (plan, _clients, _state):
        console.out(json.dumps(plan.to_json()) if args.json else repr(plan))
        return EXIT_FAILED if plan.errors else EXIT_OK


def _run_apply(args: argparse.Namespace, console: Console) -> int:
    from ..operations.sync import apply

    restart = _restart_request(args)
    with _planned(args, console) as (plan, clients, state):
        console.err(repr(plan))
        pending = plan.pending
        done = 0

        def progress(outcome: Outcome) -> None:
            nonlocal done
            done += 1
            change = outcome.change
            error = f" ({outcome.error})" if outcome.error else ""
            console.err(
                f"[{done}/{len(pending)}] {change.marker} {change.id} in universe "
                f"{change.universe}: {outcome.result}{error}"
            )

        result = apply(
            plan,
            clients,
            state,
            yes=args.yes,
            atomic=args.atomic,
            restart=restart,
            interaction=_interaction(console),
            on_outcome=progress,
        )
    console.out(json.dumps(result.to_json()) if args.json else repr(result.report))
    return EXIT_OK if result.ok else EXIT_FAILED


def resolve_targets(args: argparse.Namespace, console: Console) -> list[Target]:
    """The universes named by ``--universe`` (ids or environment names), else RBX_UNIVERSE_ID."""
    from ..secrets_as_code.manifest import Manifest
    from ..secrets_as_code.sync import load_manifest_or_none

    manifest: Manifest = load_manifest_or_none(args.manifest) or Manifest(path=None)
    return manifest.targets(
        args.universe, default=console.environ.get(ENV_UNIVERSE_ID), everywhere=False
    )


def _open_clients(targets: Sequence[Target], args: argparse.Namespace) -> dict[int, SecretsClient]:
    """A client per target, sharing one pacer; a missing credential is said in CLI terms."""
    from ..credentials.chain import find_credential
    from ..secrets_as_code.sync import open_clients
    from ..settings import check_base_url, chosen_base_url

    # RBX_API_KEY, then RBX_OAUTH_TOKEN, then the keyring (rbx-secrets login).
    search = find_credential(check_base_url(chosen_base_url(args.base_url)))
    if search.found is None:
        raise UsageFailure(search.no_credential_message())
    return open_clients(targets, base_url=args.base_url, credential=search.found.credential)


@contextlib.contextmanager
def _clients_for(
    args: argparse.Namespace, console: Console
) -> Iterator[tuple[list[Target], dict[int, SecretsClient]]]:
    from ..secrets_as_code.sync import close_clients

    targets = resolve_targets(args, console)
    clients = _open_clients(targets, args)
    try:
        yield targets, clients
    finally:
        close_clients(clients)


def _secret_id_argument(text: str) -> str:
    """The NAME argument as a valid secret id, or a usage error that does not repeat it."""
    from ..opencloud.validation import validate_secret_id

    try:
        return validate_secret_id(text)
    except InvalidInputError:
        raise UsageFailure(
            "NAME is not a valid secret id (1-64 ASCII letters, digits and "
            "underscores, not starting with a digit); not repeated here in "
            "case it was a value"
        ) from None


def _run_set(args: argparse.Namespace, console: Console) -> int:
    from ..operations.writes import set_secret
    from ..secrets_as_code.state import StateStore
    from ..values import SecretValue

    name = _secret_id_argument(args.name)
    domain = _domain_option(args.domain)
    _check_reference(args.from_ref)
    restart = _restart_request(args)
    with _clients_for(args, console) as (targets, clients):

        def say(row: WriteRow) -> None:
            if row.result != "done":
                console.err(f"{PROG}: {row.error}")
                return
            where = f"domain {row.info.domain}" if row.info and row.info.domain else "private"
            (console.err if args.json else console.out)(
                f"{row.action.capitalize()} secret '{name}' in universe {row.universe}: "
                f"{row.length} characters, {where}."
            )

        report = set_secret(
            name,
            lambda: SecretValue(_read_set_value(args, name, targets, console)),
            targets,
            clients.__getitem__,
            domain=domain,
            state=StateStore(),
            restart=restart,
            interaction=_interaction(console),
            on_row=say,
        )
    return _finish_writes(report, args.json, console)


def _check_reference(given: str | None) -> None:
    """Refuse, before any request, a ``--from`` that is no reference (without repeating it)."""
    if given is not None:
        from ..value_sources import parse_reference

        parse_reference(given)


def _domain_option(given: str | None) -> str | None:
    """``--domain`` checked; a refusal names the rule broken, never the text given.

    What was typed there may be a value or a URL holding a token (a webhook URL).
    """
    from ..opencloud.validation import validate_domain

    try:
        return validate_domain(given)
    except InvalidInputError as exc:
        reason = str(exc).rsplit(": ", 1)[-1]
    raise UsageFailure(f"invalid domain given to --domain: {reason}")


def _read_set_value(
    args: argparse.Namespace, name: str, targets: Sequence[Target], console: Console
) -> str:
    """The value from --from-env, --from-file, --stdin, or a prompt that hides input."""
    from ..values import read_value

    if args.from_ref is not None:
        from ..value_sources import ResolutionContext

        with ResolutionContext(environ=console.environ) as run:
            return run.resolve(args.from_ref).reveal()
    if args.from_env is not None:
        value = console.environ.get(args.from_env)
        if not value:
            raise UsageFailure(
                "the variable given to --from-env is not set or is empty; "
                "export it first, or use --from-file PATH or --stdin"
            )
        return value
    if args.from_file is not None:
        return read_value(from_file=args.from_file).reveal()
    if args.stdin:
        if console.stdin is None:
            raise UsageFailure("--stdin was given but stdin is closed; pipe the value in")
        if console.interactive():
            raise UsageFailure(
                "--stdin reads a pipe, and stdin is a terminal that would show "
                "the value; leave out --stdin to get a prompt that hides it"
            )
        # Never more than a valid value and its newline can take, plus one character to tell
        # "too long": a pipe from /dev/zero or `yes` must not fill memory.
        text = console.stdin.read(MAX_VALUE_CHARS + 3)
        text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
        if len(text) > MAX_VALUE_CHARS:
            raise UsageFailure(f"the value on stdin is longer than {MAX_VALUE_CHARS} characters")
        if not text:
            raise UsageFailure("nothing came on stdin; pipe the value in")
        return text
    if not console.interactive():
        raise UsageFailure(
            "no value: stdin is not a terminal to prompt on; use --from-env VAR, "
            "--from-file PATH or --stdin"
        )
    return _prompt_hidden(f"Value for {name} ({_universes_phrase(targets)}): ")


def _universes_phrase(targets: Sequence[Target]) -> str:
    """``universe 1234567, staging`` or ``universes 1234567, staging; 7654321, production``."""
    each = [
        f"{t.universe_id}, {t.environment}" if t.environment else str(t.universe_id)
        for t in targets
    ]
    return f"universe{'s' if len(each) > 1 else ''} {'; '.join(each)}"


def _prompt_hidden(prompt: str) -> str:
    """Ask with echo off; refuse when the terminal cannot hide what is typed."""
    with warnings.catch_warnings():
        # getpass warns, then reads with echo on, when it cannot turn echo off.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            value = getpass.getpass(prompt)
        except getpass.GetPassWarning:
            raise UsageFailure(
                "this terminal cannot hide what is typed; use --from-env VAR, "
                "--from-file PATH or --stdin instead"
            ) from None
        except (EOFError, KeyboardInterrupt):
            raise DeclinedError("cancelled at the prompt; nothing was changed") from None
    if not value:
        raise UsageFailure("the value is empty; nothing was changed")
    return value


def _run_list(args: argparse.Namespace, console: Console) -> int:
    from ..render.list_view import list_rows, render_list

    with _clients_for(args, console) as (targets, clients):
        rows = list_rows(targets, clients)
    console.out(json.dumps({"secrets": rows}) if args.json else render_list(targets, rows))
    return EXIT_OK


def _run_delete(args: argparse.Namespace, console: Console) -> int:
    from ..opencloud.validation import validate_secret_id
    from ..operations.writes import delete_secrets
    from ..secrets_as_code.state import StateStore

    names: list[str] = []
    for name in args.names:
        try:
            names.append(validate_secret_id(name))
        except InvalidInputError:
            raise UsageFailure(
                "a NAME is not a valid secret id; not repeated here in case it was a value"
            ) from None
    restart = _restart_request(args)

    def say(row: WriteRow) -> None:
        label = row.target.label
        if row.result == "done":
            console.err(f"Deleted secret '{row.id}' in universe {label}.")
        elif row.result == "skipped":
            console.err(f"No secret '{row.id}' in universe {label}; skipped.")
        else:
            console.err(f"{PROG}: {row.error}")

    with _clients_for(args, console) as (targets, clients):
        report = delete_secrets(
            list(dict.fromkeys(names)),
            targets,
            clients.__getitem__,
            missing_ok=args.missing_ok,
            yes=args.yes,
            state=StateStore(),
            restart=restart,
            interaction=_interaction(console),
            on_row=say,
        )
    return _finish_writes(report, args.json, console)


def _finish_writes(report: WriteReport, as_json: bool, console: Console) -> int:
    """Print the JSON document if asked; exit 0 only if every write and restart was done."""
    if as_json:
        console.out(json.dumps(report.to_json()))
    return EXIT_OK if report.ok else EXIT_FAILED


def _restart_request(args: argparse.Namespace) -> RestartRequest | None:
    """The restart asked for with --restart (None without it); checked before any request."""
    from ..operations.writes import RestartRequest

    if not args.restart:
        given = [
            option
            for option, used in (
                ("--bleed-off", args.bleed_off is not None),
                ("--wait", args.wait),
                ("--timeout", args.timeout is not None),
                ("--legacy", args.legacy),
            )
            if used
        ]
        if given:
            works = "works" if len(given) == 1 else "work"
            raise UsageFailure(f"{' and '.join(given)} {works} only with --restart")
        return None
    return RestartRequest(_restart_options(args), args.yes)


def _restart_options(
    args: argparse.Namespace, places: Sequence[str] | None = None
) -> RestartOptions:
    """The options of a restart, read by the operations' one rule (one line if wrong)."""
    from ..operations.rollout import parse_restart_options

    return parse_restart_options(
        places=places,
        bleed_off=args.bleed_off,
        legacy=args.legacy,
        wait=args.wait,
        timeout=args.timeout,
    )


def _interaction(console: Console) -> Interaction:
    """Ask on the terminal (None when there is none), say and show progress on stderr."""
    from ..operations.interaction import Interaction

    def ask(question: str) -> bool | None:
        if not console.interactive():
            return None
        return console.confirm(question.removesuffix(" [y/N] "))

    return Interaction(ask=ask, say=console.err, progress=console.progress)


def _not_confirmed(exc: NotConfirmedError, args: argparse.Namespace) -> str:
    """What was not done, and how to confirm, in the CLI's terms."""
    writes = args.command != "restart"
    if exc.action == "restart":
        if not exc.could_ask:
            if writes:
                return (
                    "--restart asks before restarting and no terminal can ask; nothing was "
                    "changed and nothing was restarted: add --yes to confirm"
                )
            return (
                "nothing can ask for confirmation here (no terminal), so nothing was "
                "restarted; add --yes to restart without asking"
            )
        changed = "nothing was changed and " if writes else ""
        return f"restart not confirmed; {changed}nothing was restarted"
    nothing = "nothing was deleted" if args.command == "delete" else "nothing was changed"
    if exc.could_ask:
        return f"deletion not confirmed; {nothing}"
    if args.command == "delete":
        return "no terminal can ask for confirmation; nothing was deleted: pass --yes to confirm"
    return (
        "the plan deletes secrets and no terminal can ask; nothing was changed: "
        "pass --yes to confirm"
    )


def _run_restart(args: argparse.Namespace, console: Console) -> int:
    from ..operations.rollout import RestartTarget, check_places_fit, roll_out

    options = _restart_options(args, args.places)
    targets = [RestartTarget(t.universe_id, t.label) for t in resolve_targets(args, console)]
    check_places_fit(options, targets)
    with _clients_for(args, console) as (_targets, clients):
        outcomes = roll_out(
            targets, options, clients.__getitem__, yes=args.yes, interaction=_interaction(console)
        )
    if args.json:
        console.out(json.dumps({"restarts": [o.to_json() for o in outcomes]}))
    return EXIT_OK if all(o.result == "done" for o in outcomes) else EXIT_FAILED


def _run_check(args: argparse.Namespace, console: Console) -> int:
    from ..operations.preflight import check_secret, check_url

    name = _secret_id_argument(args.name)
    check_url(args.url)  # before any request
    with _clients_for(args, console) as (targets, clients):
        checks = [check_secret(clients[t.universe_id], name, args.url, t.label) for t in targets]
    several = len(checks) > 1
    for check in checks:
        line = check.explain(with_universe=several)
        (console.err if args.json else console.out)(line)
    if args.json:
        console.out(
            json.dumps(
                {
                    "checks": [
                        {
                            "universe": t.universe_id,
                            "environment": t.environment,
                            "id": name,
                            "exists": c.domain is not None,
                            "host": c.host,
                            "allowed": c.allowed,
                            "domain": c.domain.domain if c.domain is not None else None,
                            "suggestions": list(c.domain.suggestions)
                            if c.domain is not None
                            else [],
                        }
                        for t, c in zip(targets, checks, strict=True)
                    ]
                }
            )
        )
    return EXIT_OK if all(c.allowed for c in checks) else EXIT_FAILED
