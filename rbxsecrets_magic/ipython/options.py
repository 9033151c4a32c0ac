"""Every option of the magics, declared once: its argparse form, and the kind of its argument.

A magic lists its options with :func:`option` (IPython's ``@argument``, filled in from here).
Everything else is derived from that one declaration and the magic's parser: the line reader's
rule for which arguments are certainly not a value (:data:`Kind` -> a check in
:mod:`~rbxsecrets_magic.ipython.reading`), tab completion (:mod:`~.completion`: flags, paths,
environment variables, variables, universes), and the positional secret names each magic takes.
A new option is one entry here and one ``@option`` line on the magic.
"""

from __future__ import annotations

import argparse
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from IPython.core.magic_arguments import argument

__all__ = ["OPTIONS", "Kind", "Option", "kind_of", "option", "positionals"]


class Kind(enum.Enum):
    """What an option's argument is."""

    FLAG = "flag"  # no argument
    PATH = "path"  # a file: completed by IPython's file matcher; safe when it exists
    ENV_VAR = "env_var"  # the name of an environment variable
    VARIABLE = "variable"  # the name of a variable of the session
    UNIVERSE = "universe"  # universe ids or environment names, a comma list
    ENVIRONMENT = "environment"  # environment names of the manifest, a comma list
    DOMAIN = "domain"
    GLOB = "glob"  # a pattern of secret ids
    PLACES = "places"  # place ids, a comma list
    MINUTES = "minutes"
    REFERENCE = "reference"  # a value reference: sops:FILE#KEY, aws-sm:ID#KEY, keyring:S/U...
    SECONDS = "seconds"  # a number of seconds, perhaps with a fraction


@dataclass(frozen=True)
class Option:
    """One option: its name, kind, metavar, help, and any other argparse settings."""

    name: str
    kind: Kind
    help: str
    metavar: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def argument(self, help: str | None = None, metavar: str | None = None) -> Callable[[Any], Any]:
        """IPython's ``@argument`` for this option (``help``, ``metavar``: this magic's words)."""
        settings: dict[str, Any] = {"help": help or self.help, **self.extra}
        if self.kind is Kind.FLAG:
            settings["action"] = "store_true"
        else:
            settings["metavar"] = metavar or self.metavar
        return argument(self.name, **settings)  # type: ignore[no-untyped-call]


_UNIVERSE_HELP = (
    "Universe id or environment name of the manifest, or a comma list of them "
    "(overrides the configuration)."
)

OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option("--universe", Kind.UNIVERSE, _UNIVERSE_HELP, "U"),
        Option(
            "--domain",
            Kind.DOMAIN,
            "Where in-game HttpService may send it: '*', '*.example.com' or "
            "'api.example.com'; '' makes it private. Default: keep (new secrets: private).",
            "D",
        ),
        Option("--from-env", Kind.ENV_VAR, "Take the value from environment variable VAR.", "VAR"),
        Option(
            "--from-file",
            Kind.PATH,
            "Take the value from a file (one final newline is dropped).",
            "PATH",
        ),
        Option(
            "--from-var",
            Kind.VARIABLE,
            "Take the value from variable NAME of this session.",
            "NAME",
        ),
        Option(
            "--from",
            Kind.REFERENCE,
            "Take the value from where it is kept: sops:FILE#KEY, aws-sm:ID[#KEY], "
            "keyring:SERVICE/USER, env:VAR, file:PATH, or a plugin's scheme.",
            "REF",
            {"dest": "from_ref"},
        ),
        Option(
            "--save",
            Kind.FLAG,
            "Also keep the key in the system keyring for the base URL, for later sessions "
            "and rbx-secrets (rbx-secrets logout removes it).",
        ),
        Option("--confirm", Kind.FLAG, "Ask for the value twice."),
        Option("--env-file", Kind.PATH, "Set every entry of a .env file instead.", "PATH"),
        Option("--dry-run", Kind.FLAG, "Only show what would change."),
        Option(
            "--atomic",
            Kind.FLAG,
            "All or nothing: if any secret has an error (no usable value), write nothing.",
        ),
        Option(
            "--restart",
            Kind.FLAG,
            "After the writes succeed, restart the game servers of each universe written, "
            "so they load the secrets (says how and asks first).",
        ),
        Option(
            "--bleed-off",
            Kind.MINUTES,
            "Let old servers run 1-240 minutes (1-60 with --legacy) without taking new "
            "players before they shut down (default: shut down now).",
            "MINUTES",
        ),
        Option(
            "--wait",
            Kind.FLAG,
            "Follow the restart until every place has restarted, with a progress bar.",
        ),
        Option(
            "--timeout",
            Kind.SECONDS,
            "With --wait: seconds to wait (default: the bleed-off plus 10 minutes).",
            "SECONDS",
        ),
        Option(
            "--legacy",
            Kind.FLAG,
            "Restart through the older :restartServers, for a key with only the universe "
            "write permission (no forecast, nothing to wait for).",
        ),
        Option(
            "--yes",
            Kind.FLAG,
            "Restart without asking (needed where nothing can ask, such as a headless kernel).",
        ),
        Option("--missing-ok", Kind.FLAG, "Skip names that do not exist instead of refusing."),
        Option(
            "--manifest",
            Kind.PATH,
            "The manifest (default: the manifest trait, else rbxsecrets.toml here).",
            "FILE",
        ),
        Option(
            "--environment",
            Kind.ENVIRONMENT,
            "Environment(s) of the manifest, comma separated.",
            "NAME",
        ),
        Option(
            "--prune",
            Kind.FLAG,
            "Delete secrets the manifest does not list (never protected ones).",
        ),
        Option(
            "--protect",
            Kind.GLOB,
            "Never delete secrets matching GLOB; repeatable.",
            "GLOB",
            {"action": "append", "default": []},
        ),
        Option(
            "--places",
            Kind.PLACES,
            "Restart only these places' servers (default: every place of the universe).",
            "ID[,ID...]",
        ),
    )
}


def option(name: str, help: str | None = None, metavar: str | None = None) -> Callable[[Any], Any]:
    """The ``@argument`` decorator for option ``name`` of :data:`OPTIONS`."""
    return OPTIONS[name].argument(help, metavar)


def kind_of(name: str) -> Kind | None:
    """The kind of option ``name``'s argument; None for an option not declared here."""
    declared = OPTIONS.get(name)
    return declared.kind if declared is not None else None


def positionals(parser: argparse.ArgumentParser) -> tuple[int, bool]:
    """How many positional words a magic's parser takes (-1: any number), and if one is required."""
    count, required = 0, False
    for action in parser._actions:
        if action.option_strings:
            continue
        many = action.nargs in ("+", "*")
        count = -1 if many or count < 0 else count + 1
        required = required or action.nargs in (None, "+")
    return count, required
