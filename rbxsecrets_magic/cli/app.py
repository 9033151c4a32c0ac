"""``rbx-secrets``: plan and apply a set of secrets; set, list or delete them; in a shell or CI.

::

    rbx-secrets plan   [--manifest FILE] [--env-file FILE] [--universe U]... [--environment NAME]...
                       [--prune] [--protect GLOB]... [--domain D] [--json]
    rbx-secrets apply  (the same options) [--yes] [--restart [--bleed-off MINUTES]]
    rbx-secrets set NAME [--domain D] [--from-env VAR | --from-file PATH | --stdin]
                       [--universe U]... [--restart [--bleed-off MINUTES] [--yes]]
    rbx-secrets list   [--universe U]... [--json]
    rbx-secrets delete NAME... [--missing-ok] [--yes] [--universe U]...
                       [--restart [--bleed-off MINUTES]]
    rbx-secrets restart [--places ID[,ID...]] [--bleed-off MINUTES] [--universe U]... [--yes]
    rbx-secrets check NAME URL [--universe U]...

Credentials come only from ``RBX_API_KEY`` or ``RBX_OAUTH_TOKEN`` (an option would land in the
shell history and the process list); the base URL from ``--base-url`` or
``RBX_OPEN_CLOUD_URL``; the universe from ``--universe`` (an id or an environment name of the
manifest), else ``RBX_UNIVERSE_ID``. Exit codes: 0 done (``plan``: the plan was made;
``check``: a game server could send the secret there), 1 something failed, a confirmation was
declined or could not be asked without ``--yes`` (``check``: it could not), 2 usage error.
Restarting disconnects players, so ``restart`` and ``--restart`` say what will happen and ask
first (:mod:`rbxsecrets_magic.operations.rollout` holds the rule). Errors are one line on stderr;
progress goes to stderr; with ``--json``, stdout holds only the JSON document.

Each subcommand is a :class:`Command` in :data:`COMMANDS`: a function that adds its options and
a function that runs it. Shared option groups (:func:`add_target_options`,
:func:`add_plan_options`) keep new subcommands and new options small.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import getpass
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NoReturn

from ..errors import DeclinedError, InvalidInputError, RbxSecretsError, ValueSourceError
from ..opencloud.validation import MAX_VALUE_CHARS
from ..settings import ENV_UNIVERSE_ID
from ..version import __version__

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..operations.rollout import RestartOptions
    from ..secrets_as_code.apply import Outcome
    from ..secrets_as_code.manifest import Manifest, Target
    from ..secrets_as_code.plan import Plan

__all__ = ["COMMANDS", "Command", "Console", "UsageFailure", "build_parser", "main"]

PROG = "rbx-secrets"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageFailure(Exception):
    """A mistake on the command line or in the configuration: one line, exit code 2."""


@dataclass
class Console:
    """Where a command reads and writes; tests pass their own streams."""

    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def out(self, text: str) -> None:
        """Write a line of the command's result to stdout."""
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        """Write a line of progress or diagnostics to stderr."""
        print(text, file=self.stderr, flush=True)

    def interactive(self) -> bool:
        """Whether a person can answer a question on stdin."""
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def confirm(self, question: str) -> bool:
        """Ask ``question`` on stderr and read yes/no from stdin."""
        self.stderr.write(f"{question} [y/N] ")
        self.stderr.flush()
        answer = self.stdin.readline()
        return answer.strip().lower() in ("y", "yes")


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, how to add its options and how to run it.

    ``run(args, console)`` returns the exit code.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Console], int]
    epilog: str = ""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageFailure`; :func:`main` decides what of it may be shown."""
        raise UsageFailure(f"{message} (see {self.prog} --help)")


# ------------------------------------------------------------------------- shared options


def add_target_options(parser: argparse.ArgumentParser, default: str = "RBX_UNIVERSE_ID") -> None:
    """``--universe`` (repeatable, ids or environment names), ``--manifest``, ``--base-url``."""
    parser.add_argument(
        "--universe",
        action="append",
        default=[],
        metavar="U",
        help="Universe id or environment name of the manifest; repeat or use commas for "
        f"several. Default: {default}.",
    )
    parser.add_argument(
        "--manifest",
        metavar="FILE",
        help="The manifest (default: rbxsecrets.toml here, if present).",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="Open Cloud base URL (default: RBX_OPEN_CLOUD_URL, else https://apis.roblox.com).",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: print one JSON document on stdout."""
    parser.add_argument("--json", action="store_true", help="Print JSON on stdout.")


def add_bleed_off_option(parser: argparse.ArgumentParser) -> None:
    """``--bleed-off MINUTES``: how long old servers may run without taking players."""
    parser.add_argument(
        "--bleed-off",
        metavar="MINUTES",
        help="Let old servers run 1-60 minutes without taking new players "
        "before they shut down (default: shut down now).",
    )


def add_restart_options(parser: argparse.ArgumentParser, *, yes: bool) -> None:
    """``--restart`` and ``--bleed-off`` for a writing command (and ``--yes`` if it lacks one)."""
    parser.add_argument(
        "--restart",
        action="store_true",
        help="After the writes succeed, restart the game servers of each "
        "universe written, so they load the new secrets (asks first).",
    )
    add_bleed_off_option(parser)
    if yes:
        parser.add_argument(
            "--yes",
            action="store_true",
            help="With --restart: restart without asking (needed when no terminal can ask).",
        )


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``plan`` and ``apply``."""
    add_target_options(parser, "RBX_UNIVERSE_ID, else every environment of the manifest")
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="Read values from this .env file first, then the environment.",
    )
    parser.add_argument(
        "--environment",
        action="append",
        default=[],
        metavar="NAME",
        help="Environment of the manifest to act on; repeatable.",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="Delete secrets that are not in the desired state (not protected).",
    )
    parser.add_argument(
        "--protect",
        action="append",
        default=[],
        metavar="GLOB",
        help="Never delete secrets matching GLOB; repeatable.",
    )
    parser.add_argument(
        "--domain",
        metavar="D",
        help="Without a manifest: the domain of every secret of the .env file.",
    )
    add_json_option(parser)


# ------------------------------------------------------------------------- plan and apply


def _configure_plan(parser: argparse.ArgumentParser) -> None:
    add_plan_options(parser)


def _configure_apply(parser: argparse.ArgumentParser) -> None:
    add_plan_options(parser)
    parser.add_argument(
        "--yes",
        action="store_true",
        help="Delete (and with --restart, restart) without asking (needed "
        "when no terminal can ask).",
    )
    add_restart_options(parser, yes=False)


@contextlib.contextmanager
def _planned(args: argparse.Namespace, console: Console) -> Iterator[tuple[Plan, Any, Any]]:
    """Make the plan; yield it with its clients and state, closing the clients after."""
    from ..secrets_as_code.plan import make_plan
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
    if state.problem:
        console.err(f"{PROG}: note: {state.problem} ({state.path}); values cannot be verified")
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
    from ..secrets_as_code.apply import apply_plan

    restart = _restart_options(args, console)
    with _planned(args, console) as (plan, clients, state):
        console.err(repr(plan))
        _confirm_deletions(plan, args.yes, console)
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

        report = apply_plan(plan, clients, state, progress=progress)
        restarted: list[dict[str, object]] = []
        if restart is not None:
            from ..operations.rollout import sync_results

            labels = {t.universe_id: t.label for t in plan.targets}
            restarted = _restart_after(
                sync_results(report), labels, restart, clients, args.yes, console
            )
        document = report.to_json()
        if restarted:
            document["restarts"] = restarted
        console.out(json.dumps(document) if args.json else repr(report))
        ok = report.ok and all(r["result"] == "done" for r in restarted)
        return EXIT_OK if ok else EXIT_FAILED


def _confirm_deletions(plan: Plan, yes: bool, console: Console) -> None:
    deletions = plan.deletions
    if not deletions or yes:
        return
    if not console.interactive():
        raise DeclinedError(
            f"the plan deletes {len(deletions)} secret(s) and no terminal can ask; "
            "nothing was changed: pass --yes to confirm"
        )
    if not console.confirm(plan.deletion_question()):
        raise DeclinedError("deletion not confirmed; nothing was changed")


# ------------------------------------------------------------------------- set, list, delete


def _configure_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name",
        metavar="NAME",
        help="Secret id: 1-64 letters, digits and _, not starting with a digit.",
    )
    parser.add_argument(
        "--domain",
        metavar="D",
        help="Where in-game HttpService may send it: "
        "'*', '*.example.com' or 'api.example.com'; '' makes it private. "
        "Default: keep (new secrets: private).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-env", metavar="VAR", help="Take the value from environment variable VAR."
    )
    source.add_argument(
        "--from-file",
        metavar="PATH",
        help="Take the value from a file (one final newline dropped).",
    )
    source.add_argument(
        "--stdin",
        action="store_true",
        help="Read the value from a pipe (one final newline dropped).",
    )
    add_target_options(parser)
    add_json_option(parser)
    add_restart_options(parser, yes=True)


def _configure_list(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser)
    add_json_option(parser)


def _configure_delete(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="+", metavar="NAME", help="Secret ids to delete.")
    parser.add_argument(
        "--missing-ok",
        action="store_true",
        help="Skip names that do not exist instead of refusing.",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="Delete (and with --restart, restart) without asking (needed "
        "when no terminal can ask).",
    )
    add_target_options(parser)
    add_json_option(parser)
    add_restart_options(parser, yes=False)


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
    from ..secrets_as_code.sync import open_clients
    from ..settings import env_credential

    if env_credential() is None:
        raise UsageFailure(
            "no credential: set RBX_API_KEY (or RBX_OAUTH_TOKEN) to an Open Cloud "
            "API key with the secret-store API system; it is never an option, "
            "so it stays out of the shell history"
        )
    return open_clients(targets, base_url=args.base_url)


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
    from ..opencloud.validation import validate_value
    from ..secrets_as_code.state import StateStore

    name = _secret_id_argument(args.name)
    domain = _domain_option(args.domain)
    restart = _restart_options(args, console)
    rows: list[dict[str, object]] = []
    restarted: list[dict[str, object]] = []
    with _clients_for(args, console) as (targets, clients):
        # A bad key, universe or URL fails before anyone types a value.
        for client in clients.values():
            client.public_key()
        value = validate_value(_read_set_value(args, name, targets, console))
        state = StateStore()
        for target in targets:
            rows.append(
                _set_one(
                    clients[target.universe_id], name, value, domain, state, console, args.json
                )
            )
        if restart is not None:
            restarted = _restart_rows(rows, targets, restart, clients, args.yes, console)
    return _finish_writes(rows, restarted, args.json, console, ("done",))


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


def _set_one(
    client: SecretsClient,
    name: str,
    value: str,
    domain: str | None,
    state: Any,
    console: Console,
    as_json: bool,
) -> dict[str, object]:
    universe = client.universe_id
    try:
        result = client.set(name, value, domain=domain)
    except RbxSecretsError as err:
        unknown = err.outcome_unknown
        if unknown:
            with contextlib.suppress(OSError):
                state.forget(client.base_url, universe, name)
        console.err(f"{PROG}: {err}")
        return {
            "universe": universe,
            "id": name,
            "action": "set",
            "result": "unknown" if unknown else "failed",
            "error": str(err),
        }
    info = result.info
    if info is not None:
        with contextlib.suppress(OSError):
            state.record(
                client.base_url,
                universe,
                name,
                value,
                domain=info.domain,
                key_id=info.key_id,
                update_time=info.update_time,
            )
    where = f"domain {info.domain}" if info is not None and info.domain else "private"
    message = (
        f"{result.action.capitalize()} secret '{name}' in universe {universe}: "
        f"{len(value)} characters, {where}."
    )
    (console.err if as_json else console.out)(message)
    return {
        "universe": universe,
        "id": name,
        "action": result.action,
        "result": "done",
        "error": None,
    }


def _read_set_value(
    args: argparse.Namespace, name: str, targets: Sequence[Target], console: Console
) -> str:
    """The value from --from-env, --from-file, --stdin, or a prompt that hides input."""
    from ..values import read_value

    if args.from_env is not None:
        value = console.environ.get(args.from_env)
        if not value:
            raise UsageFailure(
                "the variable given to --from-env is not set or is empty; "
                "export it first, or use --from-file PATH or --stdin"
            )
        return value
    if args.from_file is not None:
        return read_value(prompt="", from_file=args.from_file).reveal()
    if args.stdin:
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
    where = ", ".join(t.label for t in targets)
    return _prompt_hidden(f"Value for {name} (universe {where}): ")


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
    from ..errors import NotFoundError
    from ..opencloud.validation import validate_secret_id
    from ..secrets_as_code.state import StateStore

    names: list[str] = []
    for name in args.names:
        try:
            names.append(validate_secret_id(name))
        except InvalidInputError:
            raise UsageFailure(
                "a NAME is not a valid secret id; not repeated here in case it was a value"
            ) from None
    names = list(dict.fromkeys(names))
    restart = _restart_options(args, console)
    rows: list[dict[str, object]] = []
    restarted: list[dict[str, object]] = []
    with _clients_for(args, console) as (targets, clients):
        if not args.missing_ok:
            _refuse_missing(names, targets, clients)
        where = ", ".join(t.label for t in targets)
        if not args.yes:
            if not console.interactive():
                raise DeclinedError(
                    "no terminal can ask for confirmation; nothing was deleted: "
                    "pass --yes to confirm"
                )
            if not console.confirm(f"Delete {', '.join(names)} in universe {where}?"):
                raise DeclinedError("deletion not confirmed; nothing was deleted")
        state = StateStore()
        for target in targets:
            client = clients[target.universe_id]
            for name in names:
                row: dict[str, object] = {
                    "universe": target.universe_id,
                    "id": name,
                    "action": "delete",
                    "result": "done",
                    "error": None,
                }
                try:
                    client.delete(name)
                    console.err(f"Deleted secret '{name}' in universe {target.label}.")
                except NotFoundError:
                    row.update(result="skipped", error="not found")
                    console.err(f"No secret '{name}' in universe {target.label}; skipped.")
                except RbxSecretsError as err:
                    unknown = err.outcome_unknown
                    row.update(result="unknown" if unknown else "failed", error=str(err))
                    console.err(f"{PROG}: {err}")
                if row["result"] == "done":
                    with contextlib.suppress(OSError):
                        state.forget(client.base_url, target.universe_id, name)
                rows.append(row)
        if restart is not None:
            restarted = _restart_rows(rows, targets, restart, clients, args.yes, console)
    return _finish_writes(rows, restarted, args.json, console, ("done", "skipped"))


def _finish_writes(
    rows: list[dict[str, object]],
    restarted: list[dict[str, object]],
    as_json: bool,
    console: Console,
    good: tuple[str, ...],
) -> int:
    """Print the JSON document if asked; exit 0 only if every write and restart was done."""
    if as_json:
        document: dict[str, object] = {"results": rows}
        if restarted:
            document["restarts"] = restarted
        console.out(json.dumps(document))
    ok = all(r["result"] in good for r in rows) and all(r["result"] == "done" for r in restarted)
    return EXIT_OK if ok else EXIT_FAILED


# ------------------------------------------------------------------------- restart and check


def _restart_options(args: argparse.Namespace, console: Console) -> RestartOptions | None:
    """The restart asked for with --restart (None without it); checked before any request.

    Where no terminal can ask and --yes is missing, refuses here, before anything is written.
    """
    from ..operations.rollout import RestartOptions, parse_bleed_off

    if not args.restart:
        if args.bleed_off is not None:
            raise UsageFailure("--bleed-off works only with --restart")
        return None
    options = RestartOptions(bleed_off_minutes=parse_bleed_off(args.bleed_off))
    if not args.yes and not console.interactive():
        raise DeclinedError(
            "--restart asks before restarting and no terminal can ask; nothing was "
            "changed and nothing was restarted: add --yes to confirm"
        )
    return options


def _restart_rows(
    rows: list[dict[str, object]],
    targets: Sequence[Target],
    options: RestartOptions,
    clients: Mapping[int, SecretsClient],
    yes: bool,
    console: Console,
) -> list[dict[str, object]]:
    """--restart after set or delete: restart each universe whose writes were all done."""
    results = [(int(str(r["universe"])), str(r["result"])) for r in rows]
    labels = {t.universe_id: t.label for t in targets}
    return _restart_after(results, labels, options, clients, yes, console)


def _restart_after(
    results: list[tuple[int, str]],
    labels: Mapping[int, str],
    options: RestartOptions,
    clients: Mapping[int, SecretsClient],
    yes: bool,
    console: Console,
) -> list[dict[str, object]]:
    from ..operations.rollout import restart_targets_after_writes, roll_out

    targets, notes = restart_targets_after_writes(results, labels)
    for note in notes:
        console.err(note)
    try:
        outcomes = roll_out(
            targets, options, clients.__getitem__, yes=yes, ask=_asker(console), say=console.err
        )
    except DeclinedError as exc:
        console.err(f"{PROG}: the writes above were made, but {exc}")
        return [
            {
                "universe": t.universe_id,
                "action": "restart",
                "result": "declined",
                "error": str(exc),
            }
            for t in targets
        ]
    return [o.to_json() for o in outcomes]


def _asker(console: Console) -> Callable[[str], bool | None]:
    """``ask`` for the rollout rule: the terminal's answer, or None when there is none."""

    def ask(question: str) -> bool | None:
        if not console.interactive():
            return None
        return console.confirm(question.removesuffix(" [y/N] "))

    return ask


def _configure_restart(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--places",
        action="append",
        metavar="ID[,ID...]",
        help="Restart only these places' servers (default: every place).",
    )
    add_bleed_off_option(parser)
    parser.add_argument(
        "--yes",
        action="store_true",
        help="Restart without asking (needed when no terminal can ask).",
    )
    add_target_options(parser)
    add_json_option(parser)


def _run_restart(args: argparse.Namespace, console: Console) -> int:
    from ..operations.rollout import (
        RestartOptions,
        RestartTarget,
        check_places_fit,
        parse_bleed_off,
        parse_place_ids,
        roll_out,
    )

    options = RestartOptions(
        place_ids=parse_place_ids(args.places), bleed_off_minutes=parse_bleed_off(args.bleed_off)
    )
    targets = [RestartTarget(t.universe_id, t.label) for t in resolve_targets(args, console)]
    check_places_fit(options, targets)
    with _clients_for(args, console) as (_targets, clients):
        outcomes = roll_out(
            targets,
            options,
            clients.__getitem__,
            yes=args.yes,
            ask=_asker(console),
            say=console.err,
        )
    if args.json:
        console.out(json.dumps({"restarts": [o.to_json() for o in outcomes]}))
    return EXIT_OK if all(o.result == "done" for o in outcomes) else EXIT_FAILED


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="Secret id.")
    parser.add_argument("url", metavar="URL", help="The URL the game calls (http or https).")
    add_target_options(parser)
    add_json_option(parser)


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


def _refuse_missing(
    names: list[str], targets: Sequence[Target], clients: Mapping[int, SecretsClient]
) -> None:
    for target in targets:
        present = {info.id for info in clients[target.universe_id].list()}
        missing = [n for n in names if n not in present]
        if missing:
            raise UsageFailure(
                f"no secret named {', '.join(missing)} in universe "
                f"{target.label}; nothing was deleted; add --missing-ok to "
                "skip missing names"
            )


# ------------------------------------------------------------------------- entry point

_VALUES_FROM = """\
Values come from --env-file, else from environment variables named like the secrets (how
CI passes them); never from the command line. Without a manifest, every entry of the
--env-file is a secret."""

_PLAN_EPILOG = f"""\
{_VALUES_FROM}

Each row: + create, ~ update (with the reason: value changed, domain changed, sealed
with an old key, changed outside this tool since the last apply, value not verifiable),
= unchanged, - delete (only with --prune), . keep (protected, or not managed), ! error
(no usable value). Exit code 0 when the plan was made, 1 when a secret has no usable value.

examples:
  rbx-secrets plan --env-file .env
  rbx-secrets plan --environment production --prune --json"""

_APPLY_EPILOG = f"""\
{_VALUES_FROM}

Writes only what the plan does not show as unchanged, then reports each secret as done,
failed, unknown (the answer was lost: run plan again) or skipped; exit code 1 if any
failed. Deletes only with --prune, and asks first (--yes where no terminal can ask).
Keyed fingerprints of what was applied (never values) are kept in $RBX_SECRETS_STATE_DIR,
else $XDG_STATE_HOME/rbxsecrets-magic or ~/.local/state/rbxsecrets-magic, so the next plan
can tell what changed.

examples:
  rbx-secrets apply --env-file .env
  rbx-secrets apply --environment production --prune --yes"""

_SET_EPILOG = """\
Without --from-env, --from-file or --stdin, asks for the value on the terminal with echo
off (and refuses a terminal that cannot hide it).

examples:
  rbx-secrets set API_TOKEN --universe staging --domain api.example.com
  printenv API_TOKEN | rbx-secrets set API_TOKEN --stdin --universe staging,production"""

_LIST_EPILOG = """\
Roblox never returns values. "stale" marks a secret sealed with a key that is no longer
the universe's current one; setting it again reseals it."""

_DELETE_EPILOG = """\
Asks before deleting; where no terminal can ask (CI), --yes is needed. Unless
--missing-ok, a name missing from any universe stops the command before anything is
deleted."""

_MAIN_EPILOG = """\
getting started:
  1. Write rbxsecrets.toml, which names each environment's universe and each secret's
     domain, never a value (see the README's "Secrets as code"); or use a .env file alone
     and put the universe id in RBX_UNIVERSE_ID (or give --universe ID).
  2. Put an Open Cloud API key with the secret-store API system in RBX_API_KEY (from a
     CI secret or a password manager, not typed on a command line).
  3. rbx-secrets plan --env-file .env      see what would change
  4. rbx-secrets apply --env-file .env     make it so

environment:
  RBX_API_KEY, RBX_OAUTH_TOKEN  the credential (never an option: shell history)
  RBX_UNIVERSE_ID               the universe when --universe is not given
  RBX_OPEN_CLOUD_URL            the Open Cloud base URL (default https://apis.roblox.com)
  RBX_SECRETS_STATE_DIR         where fingerprints of applied values are kept

exit codes: 0 done, 1 something failed or a confirmation was declined, 2 usage error.
Run "rbx-secrets COMMAND --help" for a command's options."""

#: Every subcommand, in the order ``--help`` lists them.
COMMANDS: list[Command] = [
    Command("plan", "Show what apply would change.", _configure_plan, _run_plan, _PLAN_EPILOG),
    Command(
        "apply",
        "Make the secrets match the manifest or .env file.",
        _configure_apply,
        _run_apply,
        _APPLY_EPILOG,
    ),
    Command(
        "set",
        "Create or update one secret; the value never goes on the command line.",
        _configure_set,
        _run_set,
        _SET_EPILOG,
    ),
    Command(
        "list",
        "List secrets (never values) and whether each is sealed with an old key.",
        _configure_list,
        _run_list,
        _LIST_EPILOG,
    ),
    Command("delete", "Delete secrets.", _configure_delete, _run_delete, _DELETE_EPILOG),
    Command(
        "restart",
        "Restart game servers so they load the secrets as they are now (asks first).",
        _configure_restart,
        _run_restart,
    ),
    Command(
        "check",
        "Say whether a game server could send a secret to a URL (its domain).",
        _configure_check,
        _run_check,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    """The ``rbx-secrets`` parser with a subparser per :data:`COMMANDS` entry."""
    parser = _Parser(
        prog=PROG,
        allow_abbrev=False,
        description=(
            "Plan and apply Roblox Open Cloud secrets across experiences. Credentials come from "
            "RBX_API_KEY or RBX_OAUTH_TOKEN, never from an option."
        ),
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = sub.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            epilog=command.epilog or None,
            allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(child)
        child.set_defaults(run=command.run)
    return parser


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of ``parser`` and its subparsers."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _option_strings(child)
    return found


def _safe_usage_message(message: str, argv: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """argparse's message, unless it repeats a word typed on the line (it may be a value)."""
    known = _option_strings(parser) | {c.name for c in COMMANDS}
    words = [w for w in argv if w and w not in known]
    # argparse may show a word in part (`--json=VALUE` shows VALUE) or escaped (repr doubles a
    # backslash), so each of those forms counts as the word.
    forms = {f for w in words for f in (w, repr(w)[1:-1], *_explicit_argument(w)) if f}
    if any(re.search(r"(?<![\w-])" + re.escape(f) + r"(?![\w-])", message) for f in forms):
        if "invalid choice" in message:
            return (
                f"unknown command; the commands are {', '.join(c.name for c in COMMANDS)} "
                f"(see {PROG} --help)"
            )
        return (
            f"invalid arguments, not repeated here in case one is a secret value; values "
            f"never go on the command line{_option_guess(argv, parser, known)} "
            f"(see {PROG} --help)"
        )
    return message


def _option_guess(argv: Sequence[str], parser: argparse.ArgumentParser, known: set[str]) -> str:
    """``; did you mean --env-file?`` for a mistyped option: names only a real option."""
    options = _option_strings(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and argv and argv[0] in action.choices:
            options = _option_strings(action.choices[argv[0]])
    for word in argv:
        name = word.partition("=")[0]
        if name.startswith("--") and name not in known:
            guess = difflib.get_close_matches(name, sorted(options), n=1)
            if guess:
                return f"; did you mean {guess[0]}?"
    return ""


def _explicit_argument(word: str) -> tuple[str, ...]:
    """What follows ``=`` in ``--option=TEXT``, which argparse quotes alone."""
    name, equals, text = word.partition("=")
    return (text, equals + text) if word.startswith("-") and equals else ()


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Run ``rbx-secrets`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    console = console or Console()
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(words)
    except UsageFailure as exc:
        console.err(f"{PROG}: error: {_safe_usage_message(str(exc), words, parser)}")
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    return _run(args, console)


def _run(args: argparse.Namespace, console: Console) -> int:
    try:
        code: int = args.run(args, console)
        return code
    except (UsageFailure, InvalidInputError, ValueSourceError) as exc:
        console.err(f"{PROG}: error: {_one_line(str(exc))}")
        return EXIT_USAGE
    except DeclinedError as exc:
        console.err(f"{PROG}: {exc}")
        return EXIT_FAILED
    except RbxSecretsError as exc:
        console.err(f"{PROG}: {_one_line(str(exc))}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        console.err(
            f"{PROG}: interrupted; writes already reported done are recorded, one in "
            "flight may or may not have been made: run plan to see what is left"
        )
        return EXIT_FAILED


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
