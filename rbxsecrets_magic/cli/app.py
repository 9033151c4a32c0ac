"""``rbx-secrets``: plan and apply a set of secrets; set, list or delete them; in a shell or CI.

::

    rbx-secrets plan   [--manifest FILE] [--env-file FILE] [--universe U]... [--environment NAME]...
                       [--prune] [--protect GLOB]... [--domain D] [--json]
    rbx-secrets apply  (the same options) [--yes] [--atomic] [--restart [ROLLOUT]]
    rbx-secrets set NAME [--domain D] [--from-env VAR | --from-file PATH | --stdin]
                       [--universe U]... [--restart [ROLLOUT] [--yes]]
    rbx-secrets list   [--universe U]... [--json]
    rbx-secrets delete NAME... [--missing-ok] [--yes] [--universe U]...
                       [--restart [ROLLOUT]]
    rbx-secrets restart [--places ID[,ID...]] [ROLLOUT] [--universe U]... [--yes] [--json]

    ROLLOUT: [--bleed-off MINUTES] [--wait [--timeout SECONDS]] [--legacy]
    rbx-secrets check NAME URL [--universe U]...

Credentials come only from ``RBX_API_KEY`` or ``RBX_OAUTH_TOKEN`` (an option would land in the
shell history and the process list); the base URL from ``--base-url`` or
``RBX_OPEN_CLOUD_URL``; the universe from ``--universe`` (an id or an environment name of the
manifest), else ``RBX_UNIVERSE_ID``. Exit codes: 0 done (``plan``: the plan was made;
``check``: a game server could send the secret there), 1 something failed, a confirmation was
declined or could not be asked without ``--yes`` (``check``: it could not), 2 usage error.
Restarting disconnects players, so ``restart`` and ``--restart`` show Roblox's forecast of what
a restart will hit and ask first (:mod:`rbxsecrets_magic.operations.rollout` holds the rule);
they restart through Server Management, or ``:restartServers`` with ``--legacy``; ``--wait``
exits 1 when a restart is still running at the timeout. Errors are one line on stderr;
progress goes to stderr; with ``--json``, stdout holds only the JSON document.

Each subcommand is a :class:`Command` in :data:`COMMANDS`: a function that adds its options and
a function that runs it. Shared option groups (:func:`add_target_options`,
:func:`add_plan_options`) keep new subcommands and new options small.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from ..errors import (
    DeclinedError,
    InvalidInputError,
    NotConfirmedError,
    RbxSecretsError,
    ValueSourceError,
)
from ..version import __version__

if TYPE_CHECKING:
    pass
from ..render.option_words import restart_option_problem
from .commands import (
    _not_confirmed,
    _run_apply,
    _run_check,
    _run_delete,
    _run_list,
    _run_plan,
    _run_restart,
    _run_set,
)
from .console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, Console, UsageFailure
from .logins import (
    LOGIN_EPILOG,
    configure_login,
    configure_logout,
    configure_whoami,
    run_login,
    run_logout,
    run_whoami,
)
from .wording import value_problem

__all__ = ["COMMANDS", "Command", "Console", "UsageFailure", "build_parser", "main"]


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
    """How a restart goes: ``--bleed-off MINUTES``, ``--wait [--timeout SECONDS]``,
    ``--legacy``."""
    parser.add_argument(
        "--bleed-off",
        metavar="MINUTES",
        help="Let old servers run 1-240 minutes (1-60 with --legacy) without taking new "
        "players before they shut down (default: shut down now).",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="Follow the restart until every place has restarted, with a progress bar; "
        "exit 1 if it is still running at the timeout.",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="With --wait: how long to wait (default: the bleed-off plus 10 minutes).",
    )
    parser.add_argument(
        "--legacy",
        action="store_true",
        help="Restart through the older :restartServers (for keys with only the universe "
        "write permission): no forecast and nothing to wait for.",
    )


def add_restart_options(parser: argparse.ArgumentParser, *, yes: bool) -> None:
    """``--restart`` and how it goes (:func:`add_bleed_off_option`) for a writing command, and
    ``--yes`` if it lacks one."""
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
        "--atomic",
        action="store_true",
        help="All or nothing: if any secret has an error (no usable value), write nothing.",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="Delete (and with --restart, restart) without asking (needed "
        "when no terminal can ask).",
    )
    add_restart_options(parser, yes=False)


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
    source.add_argument(
        "--from",
        dest="from_ref",
        metavar="REF",
        help="Take the value from where it is kept: sops:FILE#KEY, aws-sm:ID[#KEY], "
        "keyring:SERVICE/USER, env:VAR, file:PATH, or a plugin's scheme.",
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


# ------------------------------------------------------------------------- restart and check


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


def _configure_login(parser: argparse.ArgumentParser) -> None:
    configure_login(parser)
    add_target_options(parser, "RBX_UNIVERSE_ID, else every environment of the manifest")


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="Secret id.")
    parser.add_argument("url", metavar="URL", help="The URL the game calls (http or https).")
    add_target_options(parser)
    add_json_option(parser)


# ------------------------------------------------------------------------- entry point

_VALUES_FROM = """\
Values come from the manifest's from references (sops:FILE#KEY, aws-sm:ID#KEY,
keyring:SERVICE/USER, ...), else from --env-file, else from
environment variables named like the secrets (how CI passes them); never from the
command line. Without a manifest, every entry of the --env-file is a secret."""

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
  2. rbx-secrets login keeps an Open Cloud API key with the secret-store API system in
     the system keyring; in CI, put it in RBX_API_KEY (from a CI secret, never typed on
     a command line).
  3. rbx-secrets plan --env-file .env      see what would change
  4. rbx-secrets apply --env-file .env     make it so

environment:
  RBX_API_KEY, RBX_OAUTH_TOKEN  the credential (never an option: shell history); after the
                                session's login, before the keyring (rbx-secrets login)
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
        "Restart game servers so they load the secrets as they are now (shows the forecast "
        "and asks first).",
        _configure_restart,
        _run_restart,
    ),
    Command(
        "check",
        "Say whether a game server could send a secret to a URL (its domain).",
        _configure_check,
        _run_check,
    ),
    Command(
        "login",
        "Check an API key and keep it in the system keyring.",
        _configure_login,
        run_login,
        LOGIN_EPILOG,
    ),
    Command(
        "logout",
        "Remove the credential kept in the system keyring.",
        configure_logout,
        run_logout,
    ),
    Command(
        "whoami",
        "Say which credential is used, and where it comes from (never the key).",
        configure_whoami,
        run_whoami,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    """The ``rbx-secrets`` parser with a subparser per :data:`COMMANDS` entry."""
    parser = _Parser(
        prog=PROG,
        allow_abbrev=False,
        description=(
            "Plan and apply Roblox Open Cloud secrets across experiences. Credentials come from "
            "RBX_API_KEY or RBX_OAUTH_TOKEN, else the system keyring (rbx-secrets login), never "
            "from an option."
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
                f"unknown command{_command_guess(argv)}; the commands are "
                f"{', '.join(c.name for c in COMMANDS)} (see {PROG} --help)"
            )
        return (
            f"invalid arguments, not repeated here in case one is a secret value; values "
            f"never go on the command line{_option_guess(argv, parser, known)} "
            f"(see {PROG} --help)"
        )
    return message


def _command_guess(argv: Sequence[str]) -> str:
    """``; did you mean plan?`` for a mistyped command: names only a real command."""
    typed = next((word for word in argv if not word.startswith("-")), "")
    guess = difflib.get_close_matches(typed, [c.name for c in COMMANDS], n=1)
    return f"; did you mean {guess[0]}?" if guess else ""


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
    """The parts of an option word argparse may quote alone.

    What follows ``=`` in ``--option=TEXT``; and any tail of a short-option word, because
    argparse reads ``-hTEXT`` (or ``-hhTEXT``) as ``-h`` given ``TEXT``.
    """
    name, equals, text = word.partition("=")
    parts: tuple[str, ...] = (text, equals + text) if word.startswith("-") and equals else ()
    if word.startswith("-") and not word.startswith("--"):
        parts += tuple(word[i:] for i in range(2, len(word)))
    return parts


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
    from ..operations.rollout import RestartOptionError
    from ..operations.writes import MissingSecretsError

    try:
        code: int = args.run(args, console)
        return code
    except MissingSecretsError as exc:
        console.err(
            f"{PROG}: error: no secret named {', '.join(exc.names)} in universe "
            f"{exc.target.label}; nothing was deleted; add --missing-ok to skip missing names"
        )
        return EXIT_USAGE
    except ValueSourceError as exc:
        console.err(f"{PROG}: error: {_one_line(value_problem(exc))}")
        return EXIT_USAGE
    except RestartOptionError as exc:
        console.err(f"{PROG}: error: {restart_option_problem(exc)}")
        return EXIT_USAGE
    except (UsageFailure, InvalidInputError) as exc:
        console.err(f"{PROG}: error: {_one_line(str(exc))}")
        return EXIT_USAGE
    except NotConfirmedError as exc:
        console.err(f"{PROG}: {_not_confirmed(exc, args)}")
        return EXIT_FAILED
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
