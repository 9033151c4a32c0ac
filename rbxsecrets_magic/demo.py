"""``rbx-secrets-demo``: an IPython shell with the extension loaded and ready to use.

With no Roblox account configured, the demo starts an in-process fake of Open Cloud (the
``fakeserver`` package) on a loopback port, points the extension at it, and puts the fake in
the shell's namespace as ``fake`` so that ``fake.plaintext(UNIVERSE, "name")`` shows what the
fake decrypted. Nothing leaves the machine.

With both ``RBX_API_KEY`` and ``RBX_UNIVERSE_ID`` in the environment the same command talks to
the real service instead (``RBX_OPEN_CLOUD_URL`` overrides its address); ``--offline`` forces
the fake. Options the demo does not know are passed on to IPython, e.g. ``--simple-prompt``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any
from unittest import mock

from .secrets_as_code.fingerprint_key import ENV_STATE_DIR
from .settings import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_OAUTH_TOKEN,
    ENV_UNIVERSE_ID,
    chosen_base_url,
)

__all__ = ["main"]

_HOW_TO = """\
  %rbx_secret_set api_token                   set or update; type the value at the masked prompt
  %rbx_secret_set stripe_key --domain '*.stripe.com'
                                              a secret in-game HttpService may send to that domain
  %rbx_secret_list                            list the secrets (names and metadata, never values)
  %rbx_secret_delete api_token                delete
  %rbx_secret_set?                            help for every option (also --from-env, --env-file)
"""


def _offline_banner(universe_id: int, url: str) -> str:
    return (
        f"\nrbx-secrets-demo: offline, against a fake Open Cloud at {url}\n"
        f"Universe {universe_id} (also in the variable UNIVERSE); the extension is loaded.\n\n"
        f"{_HOW_TO}"
        '  fake.plaintext(UNIVERSE, "api_token")       what the fake decrypted (only a fake can)\n'
        "  fake.secret_ids(UNIVERSE), fake.journal     its secrets and the requests it served\n\n"
        f"Set {ENV_API_KEY} and {ENV_UNIVERSE_ID} to use your own experience instead. "
        "Quit with exit.\n"
    )


def _real_banner(universe_id: str, url: str) -> str:
    return (
        f"\nrbx-secrets-demo: universe {universe_id} at {url}, from {ENV_UNIVERSE_ID} and "
        f"{ENV_API_KEY}.\nThe extension is loaded; what you set and delete there is real.\n\n"
        f"{_HOW_TO}\n"
        "Running game servers see a changed secret only after they restart. Quit with exit.\n"
    )


def _start_shell(ipython_argv: list[str], banner: str, user_ns: dict[str, Any]) -> None:
    """Run a terminal IPython with the extension loaded until the user quits."""
    from IPython import start_ipython
    from traitlets.config import Config

    config = Config()
    config.TerminalInteractiveShell.banner2 = banner
    # Settings go on IPython's command line because it outranks the user's profile config,
    # which could point the extension somewhere else.
    start_ipython(argv=["--ext=rbxsecrets_magic", *ipython_argv], config=config, user_ns=user_ns)


def _run_offline(ipython_argv: list[str]) -> None:
    from fakeserver import FakeOpenCloud

    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    api_key = fake.add_api_key(universe_ids=[universe_id])
    # The fingerprints of what the demo applies describe a fake that is gone when it quits
    # (keyed by a random port): they go in a folder of the demo's own, never the user's state.
    state = tempfile.TemporaryDirectory(prefix="rbx-secrets-demo-state-")
    environ = {
        ENV_API_KEY: api_key.key,
        ENV_UNIVERSE_ID: str(universe_id),
        ENV_STATE_DIR: os.path.join(state.name, "state"),
    }
    with state, fake.serve() as server, mock.patch.dict(os.environ, environ):
        # The environment too, so SecretsClient(UNIVERSE) works in the shell without arguments;
        # patch.dict puts the user's own variables back afterwards.
        os.environ[ENV_BASE_URL] = server.url
        os.environ.pop(ENV_OAUTH_TOKEN, None)
        settings = [
            f"--RbxSecretsMagics.universe_id={universe_id}",
            f"--RbxSecretsMagics.base_url={server.url}",
        ]
        _start_shell(
            [*settings, *ipython_argv],
            _offline_banner(universe_id, server.url),
            {"fake": fake, "UNIVERSE": universe_id},
        )


def _run_real(ipython_argv: list[str]) -> None:
    universe_id = os.environ[ENV_UNIVERSE_ID]
    url = chosen_base_url()
    _start_shell(ipython_argv, _real_banner(universe_id, url), {})


def main(argv: Sequence[str] | None = None) -> int:
    """Start the demo shell; return the exit status.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``sys.argv[1:]`` by default.
        Unknown options go to IPython.
    """
    parser = argparse.ArgumentParser(
        prog="rbx-secrets-demo",
        description=(
            "Open IPython with the rbxsecrets_magic extension loaded. Offline against a "
            "decrypting fake of Open Cloud, unless RBX_API_KEY and RBX_UNIVERSE_ID are set, "
            "in which case it uses the real service. Other options are passed to IPython."
        ),
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="use the fake even when RBX_API_KEY and RBX_UNIVERSE_ID are set",
    )
    args, ipython_argv = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))

    has_key = bool(os.environ.get(ENV_API_KEY))
    has_universe = bool(os.environ.get(ENV_UNIVERSE_ID))
    if has_key and has_universe and not args.offline:
        _run_real(ipython_argv)
        return 0
    if has_key != has_universe and not args.offline:
        missing = ENV_UNIVERSE_ID if has_key else ENV_API_KEY
        print(
            f"{missing} is not set, so the demo runs offline against the fake; "
            f"set both {ENV_API_KEY} and {ENV_UNIVERSE_ID} to use the real service.",
            file=sys.stderr,
        )
    _run_offline(ipython_argv)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
