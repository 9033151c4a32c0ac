"""``rbx-secrets login``, ``logout`` and ``whoami``: a credential kept in the system keyring.

``login`` reads an API key (or with ``--oauth`` an OAuth token) from a prompt that hides it or
from a pipe (``--stdin``), checks it in the universes the run knows of, and keeps it in the
keyring for the base URL (:mod:`rbxsecrets_magic.operations.login`). ``whoami`` names the
credential in use and where it came from, never the credential.
"""

from __future__ import annotations

import argparse

from ..credentials.store import CREDENTIAL_ORDER
from ..settings import ENV_UNIVERSE_ID, check_base_url, chosen_base_url
from .console import EXIT_FAILED, EXIT_OK, PROG, Console, UsageFailure

__all__ = [
    "LOGIN_EPILOG",
    "configure_login",
    "configure_logout",
    "configure_whoami",
    "run_login",
    "run_logout",
    "run_whoami",
]

# The longest credential read from a pipe: Open Cloud API keys and OAuth tokens are far shorter.
_MAX_CREDENTIAL_CHARS = 8192

LOGIN_EPILOG = f"""\
The key is checked in every universe given (--universe, else RBX_UNIVERSE_ID, else every
environment of the manifest) and kept only if Roblox accepts it. Where no system keyring
exists (a container, CI), use RBX_API_KEY instead.

credential order: {"; then ".join(CREDENTIAL_ORDER)}.

examples:
  rbx-secrets login --universe 1234567
  printenv MY_KEY | rbx-secrets login --stdin"""


def configure_login(parser: argparse.ArgumentParser) -> None:
    """Options of ``login``."""
    parser.add_argument(
        "--stdin", action="store_true", help="Read the key from a pipe instead of a prompt."
    )
    parser.add_argument(
        "--oauth", action="store_true", help="The credential is an OAuth 2.0 access token."
    )


def configure_logout(parser: argparse.ArgumentParser) -> None:
    """Options of ``logout``."""
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="Open Cloud base URL (default: RBX_OPEN_CLOUD_URL, else https://apis.roblox.com).",
    )


configure_whoami = configure_logout


def _base_url(args: argparse.Namespace, console: Console) -> str:
    return check_base_url(chosen_base_url(args.base_url, console.environ))


def _login_targets(args: argparse.Namespace, console: Console) -> list[tuple[int, str]]:
    from ..secrets_as_code.manifest import Manifest
    from ..secrets_as_code.sync import load_manifest_or_none

    manifest: Manifest = load_manifest_or_none(args.manifest) or Manifest(path=None)
    everywhere = not args.universe and not console.environ.get(ENV_UNIVERSE_ID)
    if everywhere and not manifest.environments:
        return []
    targets = manifest.targets(
        args.universe, default=console.environ.get(ENV_UNIVERSE_ID), everywhere=everywhere
    )
    return [(t.universe_id, t.label) for t in targets]


def _read_credential(args: argparse.Namespace, console: Console, what: str) -> str:
    from .commands import _prompt_hidden

    if not args.stdin:
        if not console.interactive():
            raise UsageFailure(
                f"no {what}: stdin is not a terminal to prompt on; pipe it in with --stdin"
            )
        return _prompt_hidden(f"Open Cloud {what}: ")
    if console.stdin is None:
        raise UsageFailure(f"--stdin was given but stdin is closed; pipe the {what} in")
    if console.interactive():
        raise UsageFailure(
            f"--stdin reads a pipe, and stdin is a terminal that would show the {what}; "
            "leave out --stdin to get a prompt that hides it"
        )
    text = console.stdin.read(_MAX_CREDENTIAL_CHARS + 1).strip()
    if len(text) > _MAX_CREDENTIAL_CHARS:
        raise UsageFailure(f"what came on stdin is longer than any {what}")
    if not text:
        raise UsageFailure(f"nothing came on stdin; pipe the {what} in")
    return text


def run_login(args: argparse.Namespace, console: Console) -> int:
    """Check a credential, keep it in the keyring; say which universes it reaches."""
    from ..credentials.store import check_keyring
    from ..operations.login import save_login
    from ..settings import pick_credential

    what = "OAuth token" if args.oauth else "API key"
    check_keyring()  # before asking for a key it could not keep
    base_url = _base_url(args, console)
    targets = _login_targets(args, console)
    if not targets:
        raise UsageFailure(
            f"no universe to check the {what} in: give --universe U, set RBX_UNIVERSE_ID, "
            "or run it next to a manifest"
        )
    text = _read_credential(args, console, what)
    credential = (
        pick_credential(None, text, console.environ)
        if args.oauth
        else pick_credential(text, None, console.environ)
    )
    console.out(save_login(credential, targets, base_url=base_url))
    return EXIT_OK


def run_logout(args: argparse.Namespace, console: Console) -> int:
    """Remove the credential kept for the base URL."""
    from ..operations.login import logout

    console.out(logout(_base_url(args, console)))
    return EXIT_OK


def run_whoami(args: argparse.Namespace, console: Console) -> int:
    """Name the credential in use and its source, never the credential."""
    from ..credentials.chain import find_credential

    base_url = _base_url(args, console)
    search = find_credential(base_url, environ=console.environ)
    order = "; then ".join(CREDENTIAL_ORDER)
    if search.found is None:
        console.err(f"{PROG}: {search.no_credential_message()}")
        console.err(f"{PROG}: credential order: {order}.")
        return EXIT_FAILED
    console.out(f"Using the {search.found.describe()} for {base_url}.")
    console.err(f"{PROG}: credential order: {order}.")
    return EXIT_OK
