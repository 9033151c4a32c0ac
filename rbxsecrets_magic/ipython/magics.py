"""The ``%rbx_secret_*`` magics: set, delete, list and sync secrets of Roblox experiences.

Load them with ``%load_ext rbxsecrets_magic``. Values are never typed on the magic line: they
come from a masked prompt, an environment variable, a file or a variable (see
:mod:`rbxsecrets_magic.values`), so they stay out of ``In``, ``Out``, the history database and
the notebook.

Configuration, with ``%config`` in a session or in ``ipython_config.py``::

    c.RbxSecretsMagics.universe_id = 6930499524   # else $RBX_UNIVERSE_ID, else --universe
    c.RbxSecretsMagics.base_url = ""              # "" = $RBX_OPEN_CLOUD_URL or https://apis.roblox.com
    c.RbxSecretsMagics.timeout = 10.0             # seconds per HTTP request
    c.RbxSecretsMagics.max_retries = 5            # retries of 429/5xx/connection failures
    c.RbxSecretsMagics.confirm = False            # always ask for a value twice
    c.RbxSecretsMagics.progress = True            # progress bar for --env-file
    c.RbxSecretsMagics.concurrency = 1            # parallel requests for --env-file
    c.RbxSecretsMagics.manifest = ""              # "" = rbxsecrets.toml here, if present

Every magic's ``--universe`` takes a universe id or an environment name of the manifest, or a
comma list of them; ``%rbx_secret_sync`` plans and applies the manifest (see
:mod:`rbxsecrets_magic.ipython.sync_magic`).

The API key comes from ``%rbx_secret_login`` (kept in memory for this session only), else from
``$RBX_API_KEY`` (or an OAuth token in ``$RBX_OAUTH_TOKEN``). It is never a trait, so it never
shows in ``%config`` output or in a config file.

The magics are thin: every request goes through
:class:`rbxsecrets_magic.opencloud.client.SecretsClient`.
``requests``, ``nacl``, ``tqdm`` and ``dotenv`` are imported on first use, not at load.
Mistakes and API failures end in a one-line ``UsageError`` that says what to do; unexpected
exceptions keep their traceback.
"""

# IPython's magic decorators carry no type hints; --strict would flag every magic for it.
# mypy: disable-error-code="untyped-decorator, no-untyped-call"

from __future__ import annotations

import argparse
import hashlib
import os
import re
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Integer, TraitError, Unicode, validate

from ..errors import InvalidInputError, RbxSecretsError, ValueSourceError
from ..opencloud.validation import validate_domain, validate_secret_id, validate_universe_id
from ..settings import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_OAUTH_TOKEN,
    ENV_UNIVERSE_ID,
    MAX_CONCURRENCY,
    env_credential,
)
from . import completion

# Reading lines, values and history is imported by the magics that need it, on first use:
# loading the extension must not slow IPython's start (bench/load_ext.py).
if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..opencloud.pacing import Pacer
    from ..render.tables import SecretList
    from ..values import SecretValue
    from .magic_line import LineReading, LineSpec

__all__ = ["RbxSecretsMagics"]

_NO_UNIVERSE = (
    "no universe configured; set one with %config RbxSecretsMagics.universe_id = 1234567, "
    f"the {ENV_UNIVERSE_ID} environment variable, or --universe 1234567 on the line"
)
_NO_KEY = (
    "no API key; run %rbx_secret_login (masked prompt, kept for this session only) or set "
    f"{ENV_API_KEY} before starting IPython/Jupyter"
)
# The options that give a value (or, for %rbx_secret_login, a key) instead of the prompt.
_SOURCE_OPTIONS = ("--from-env", "--from-file", "--from-var")
_VALUE_SOURCES = ("--from-env VAR", "--from-file PATH", "--from-var NAME")
_KEY_SOURCES = ("--from-env VAR", "--from-file PATH")
_UNIVERSE_HELP = (
    "Universe id or environment name of the manifest, or a comma list of them "
    "(overrides the configuration)."
)
_RESTART_HELP = (
    "After the writes succeed, restart the game servers of each universe written, "
    "so they load the secrets (says how and asks first)."
)
_BLEED_OFF_HELP = (
    "Let old servers run 1-60 minutes without taking new players before they "
    "shut down (default: shut down now)."
)
_YES_HELP = "Restart without asking (needed where nothing can ask, such as a headless kernel)."
_UNIVERSE_RULE = (
    "must be a universe id, a positive whole number (the experience's Universe ID in Creator Hub)"
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fail(magic: str, message: str) -> UsageError:
    # Exactly UsageError, never a subclass: only that type is shown without a traceback.
    # The magics' own phrases and the client's sentences end up in one form: a capital after
    # the prefix and a closing stop.
    text = _one_line(message)
    # Only a plain word is capitalised: a leading file name or secret id is shown as it is.
    if text.split(" ", 1)[0].rstrip(",:;.").isalpha():
        text = text[:1].upper() + text[1:]
    if not text.endswith((".", "?")):
        text += "."
    return UsageError(f"%{magic}: {text}")


@magics_class
class RbxSecretsMagics(Magics):
    """Magics that set, delete and list the secrets of a Roblox experience (universe).

    Configure with ``%config RbxSecretsMagics.<trait> = ...``; see the module docstring.
    """

    universe_id = Integer(
        None,
        allow_none=True,
        help="Universe (experience) whose secrets the magics manage. None: use the "
        f"{ENV_UNIVERSE_ID} environment variable. Every magic's --universe overrides it.",
    ).tag(config=True)
    base_url = Unicode(
        "",
        help=f"Open Cloud base URL. Empty: the {ENV_BASE_URL} environment variable, else "
        "https://apis.roblox.com. Plain http:// is refused except to loopback.",
    ).tag(config=True)
    timeout = Float(DEFAULT_TIMEOUT, help="Seconds to wait for each HTTP request.").tag(config=True)
    max_retries = Integer(
        DEFAULT_MAX_RETRIES,
        help="How often to retry a request after a 429, a 5xx or a connection failure.",
    ).tag(config=True)
    confirm = Bool(
        False, help="Always ask for a value twice at the masked prompt (like --confirm)."
    ).tag(config=True)
    progress = Bool(True, help="Show a progress bar for %rbx_secret_set --env-file.").tag(
        config=True
    )
    concurrency = Integer(
        1,
        help=f"Parallel requests for %rbx_secret_set --env-file, 1 to {MAX_CONCURRENCY} "
        "(the rate limit still holds).",
    ).tag(config=True)
    manifest = Unicode(
        "",
        help="Secrets manifest (TOML) for %rbx_secret_sync and for environment names in "
        "--universe. Empty: rbxsecrets.toml in the working directory, when it exists.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        """Create the magics for ``shell`` and install their tab completion."""
        super().__init__(shell=shell, **kwargs)
        # API keys from %rbx_secret_login, per universe (None = any universe). Not a trait,
        # so the key never reaches %config output or a config file.
        self._keys: dict[int | None, SecretValue] = {}
        self._clients: dict[tuple[Any, ...], SecretsClient] = {}
        # One pacer for every client: Roblox's rate limit is per API key owner, not universe.
        self._pacer: Pacer | None = None
        # Secret ids per universe, from the last listing plus later sets and deletes.
        self.known_ids: dict[int, set[str]] = {}
        if getattr(shell, "Completer", None) is not None:
            completion.register(shell, completion.MagicCompleter(self))

    @validate("universe_id")
    def _check_universe_id(self, proposal: Any) -> int | None:
        value: int | None = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"universe_id {_UNIVERSE_RULE}")
        return value

    @validate("timeout")
    def _check_positive(self, proposal: Any) -> Any:
        if proposal["value"] <= 0:
            raise TraitError("timeout must be more than 0")
        return proposal["value"]

    @validate("concurrency")
    def _check_concurrency(self, proposal: Any) -> Any:
        if not 1 <= proposal["value"] <= MAX_CONCURRENCY:
            raise TraitError(f"concurrency must be 1 to {MAX_CONCURRENCY}")
        return proposal["value"]

    @validate("max_retries")
    def _check_not_negative(self, proposal: Any) -> Any:
        if proposal["value"] < 0:
            raise TraitError("max_retries must be 0 or more")
        return proposal["value"]

    # ----------------------------------------------------------------------------- magics

    @line_magic
    @magic_arguments()
    @argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="Secret id: 1-64 letters, digits and _, not starting with a digit.",
    )
    @argument(
        "--domain",
        metavar="D",
        help="Where in-game HttpService may send it: '*', '*.example.com' or "
        "'api.example.com'; '' makes it private. Default: keep (new secrets: private).",
    )
    @argument("--from-env", metavar="VAR", help="Take the value from environment variable VAR.")
    @argument(
        "--from-file",
        metavar="PATH",
        help="Take the value from a file (one final newline is dropped).",
    )
    @argument(
        "--from-var", metavar="NAME", help="Take the value from variable NAME of this session."
    )
    @argument("--confirm", action="store_true", help="Ask for the value twice.")
    @argument("--env-file", metavar="PATH", help="Set every entry of a .env file instead.")
    @argument(
        "--dry-run",
        action="store_true",
        help="With --env-file: only show what would be created or updated.",
    )
    @argument("--universe", metavar="U", help=_UNIVERSE_HELP)
    @argument("--restart", action="store_true", help=_RESTART_HELP)
    @argument("--bleed-off", metavar="MINUTES", help=_BLEED_OFF_HELP)
    @argument("--yes", action="store_true", help=_YES_HELP)
    def rbx_secret_set(self, line: str) -> None:
        """Create or update a secret; the value comes from a masked prompt, never the line.

        Says whether the secret was created or updated, in which universe, and the value's
        length; never the value. Running game servers pick up a new value when they restart.
        In a headless kernel (nbclient, papermill) there is no prompt: use --from-env,
        --from-file or --from-var. With --restart, once the value is set in every universe,
        their game servers restart (after saying how and asking; --yes answers) so they load it.

        With --env-file PATH, sets every entry of a .env file (python-dotenv rules), with a
        progress bar and a table of created/updated/failed entries. Running it again is safe:
        existing secrets are updated, never duplicated.

        Examples
        --------
        ::

            In [1]: %rbx_secret_set api_token
            Value for api_token (universe 6930499524): ········
            Created secret 'api_token' in universe 6930499524: 24 characters, private.

            In [2]: %rbx_secret_set stripe_key --domain '*.stripe.com' --confirm
            In [3]: %rbx_secret_set api_token --from-env API_TOKEN
            In [4]: %rbx_secret_set api_token --from-file ~/.secrets/api_token
            In [5]: %rbx_secret_set api_token --from-var token --universe 1234567
            In [6]: %rbx_secret_set --env-file .env --dry-run
            In [7]: %rbx_secret_set --env-file .env --domain '*.example.com'
            In [8]: %rbx_secret_set api_token --from-env API_TOKEN --restart --bleed-off 10
        """
        self._run(self.rbx_secret_set, line, self._set)

    def _set(self, args: argparse.Namespace) -> None:
        magic = "rbx_secret_set"
        restart = self._restart_option(magic, args)
        if args.env_file is not None:
            if restart is not None:
                raise _fail(
                    magic,
                    "--restart works with one secret, not --env-file; use "
                    "%rbx_secret_sync --env-file FILE --restart",
                )
            return self._set_env_file(args)
        if args.dry_run:
            raise _fail(magic, "--dry-run works only with --env-file")
        sources = [args.from_env, args.from_file, args.from_var]
        if sum(s is not None for s in sources) > 1:
            raise _fail(magic, "give only one of --from-env, --from-file and --from-var")
        if args.name is None:
            raise _fail(
                magic,
                "give the secret's name: %rbx_secret_set NAME (the value "
                "is asked for in a masked prompt)",
            )
        if args.confirm and any(s is not None for s in sources):
            raise _fail(
                magic,
                "--confirm applies only to the masked prompt, not to "
                "--from-env, --from-file or --from-var",
            )
        name = self._check_names(magic, [args.name])[0]
        domain = self._check_domain(args.domain)
        universes = self._universes(magic, args.universe)
        clients = [self._client(magic, universe) for universe in universes]
        if all(s is None for s in sources):
            # Before any request: without a terminal, nothing typed could be hidden.
            from ..values import check_masked_prompt

            check_masked_prompt(what="value", sources=_VALUE_SOURCES)
        # Catch a bad key, universe or network before the user types a value.
        for client in clients:
            client.public_key()
        from ..values import read_value

        # The plaintext lives only in this frame and _set_one's; on failure, _run empties them.
        value = read_value(
            prompt=f"Value for {name} (universe {', '.join(map(str, universes))}): ",
            from_env=args.from_env,
            from_file=args.from_file,
            from_var=args.from_var,
            namespace=self.shell.user_ns if self.shell is not None else {},
            confirm=args.confirm or self.confirm,
        )
        self._check_value(value)
        by_universe = dict(zip(universes, clients, strict=True))

        def write(universe: int) -> bool:
            self._set_one(
                by_universe[universe], universe, name, value, domain, args.domain is not None
            )
            return True

        written = self._write_each(magic, universes, write, restart)
        if restart is not None:
            self._restart_after(magic, written, restart, args.yes)
        return None

    def _set_one(
        self,
        client: SecretsClient,
        universe: int,
        name: str,
        value: SecretValue,
        domain: str | None,
        domain_given: bool,
    ) -> None:
        """Set ``name`` in one universe and say so."""
        # A name seen in a listing is most likely still there: update first, one request
        # fewer than create-then-409. Absence is not trusted (someone may have created it).
        listed = name in self.known_ids.get(universe, ())
        result = client.set(name, value.reveal(), domain=domain, exists=listed or None)
        if result.action == "failed" and result.error is not None:
            raise result.error
        self.known_ids.setdefault(universe, set()).add(name)
        print(self._describe_set(result, universe, len(value), domain_given))

    @line_magic
    @magic_arguments()
    @argument("names", nargs="+", metavar="NAME", help="Secret ids to delete.")
    @argument(
        "--missing-ok",
        action="store_true",
        help="Skip names that do not exist instead of refusing.",
    )
    @argument("--universe", metavar="U", help=_UNIVERSE_HELP)
    @argument("--restart", action="store_true", help=_RESTART_HELP)
    @argument("--bleed-off", metavar="MINUTES", help=_BLEED_OFF_HELP)
    @argument("--yes", action="store_true", help=_YES_HELP)
    def rbx_secret_delete(self, line: str) -> None:
        """Delete one or more secrets.

        Without --missing-ok, a name that does not exist stops the command before anything is
        deleted. Running game servers keep a deleted secret until they restart; --restart
        restarts them once the deletions succeed (saying how and asking first; --yes answers).

        Examples
        --------
        ::

            In [1]: %rbx_secret_delete api_token
            Deleted secret 'api_token' in universe 6930499524.

            In [2]: %rbx_secret_delete old_key older_key --missing-ok --universe 1234567
            In [3]: %rbx_secret_delete old_key --restart --bleed-off 5 --yes
        """
        self._run(self.rbx_secret_delete, line, self._delete)

    def _delete(self, args: argparse.Namespace) -> None:
        magic = "rbx_secret_delete"
        restart = self._restart_option(magic, args)
        names = list(dict.fromkeys(self._check_names(magic, args.names)))
        universes = self._universes(magic, args.universe)
        several = len(universes) > 1
        if (len(names) > 1 or several) and not args.missing_ok:
            # Every universe is checked before anything is deleted anywhere.
            for universe in universes:
                self._refuse_missing(magic, universe, names)

        def write(universe: int) -> bool:
            client = self._client(magic, universe)
            deleted, skipped = self._delete_each(magic, client, universe, names, args.missing_ok)
            print(_describe_delete(universe, deleted, skipped))
            return bool(deleted)

        written = self._write_each(magic, universes, write, restart)
        if restart is not None:
            self._restart_after(magic, written, restart, args.yes)

    def _refuse_missing(self, magic: str, universe: int, names: list[str]) -> None:
        """Fail, naming them, if any of ``names`` is not in ``universe``."""
        existing = {info.id for info in self._client(magic, universe).list()}
        self.known_ids[universe] = set(existing)
        missing = [n for n in names if n not in existing]
        if missing:
            raise _fail(
                magic,
                f"no secret{'s' if len(missing) > 1 else ''} named "
                f"{_quoted(missing)} in universe {universe}; nothing was "
                "deleted; add --missing-ok to skip missing names",
            )

    @line_magic
    @magic_arguments()
    @argument("--universe", metavar="U", help=_UNIVERSE_HELP)
    def rbx_secret_list(self, line: str) -> SecretList | None:
        """List the secrets of a universe: id, domain, key_id, stale, created, updated.

        Returns a table (HTML in Jupyter, aligned text in a terminal) that can be iterated
        in code; it never contains values, which the API never returns. ``stale`` marks a
        secret sealed with a key that is no longer the universe's: setting it again reseals
        it. The names also feed tab completion of the other magics. With several universes
        (``--universe staging,production``), each table is displayed and nothing returned.

        Examples
        --------
        ::

            In [1]: %rbx_secret_list
            Out[1]:
            2 secrets in universe 6930499524 (times in UTC):
            id          domain        key_id  stale  created              updated
            ----------  ------------  ------  -----  -------------------  -------------------
            api_token   (private)     1       stale  2026-11-27 07:15:01  2026-11-27 07:15:01
            stripe_key  *.stripe.com  2              2026-11-27 07:16:40  2026-11-28 09:02:11

            In [2]: [s.id for s in _]
            Out[2]: ['api_token', 'stripe_key']
        """
        result: SecretList | None = self._run(self.rbx_secret_list, line, self._list)
        return result

    def _list(self, args: argparse.Namespace) -> SecretList | None:
        magic = "rbx_secret_list"
        universes = self._universes(magic, args.universe)
        tables = [self._list_one(magic, universe) for universe in universes]
        if len(tables) == 1:
            return tables[0]
        from IPython.display import display

        for table in tables:
            display(table)
        return None

    def _list_one(self, magic: str, universe: int) -> SecretList:
        """List one universe and fetch its key, which tells which secrets are stale."""
        from ..render.tables import SecretList

        client = self._client(magic, universe)
        secrets = client.list()
        current = client.public_key().key_id
        self.known_ids[universe] = {info.id for info in secrets}
        return SecretList(universe, secrets, current)

    @line_magic
    @magic_arguments()
    @argument("--from-env", metavar="VAR", help="Take the key from environment variable VAR.")
    @argument("--from-file", metavar="PATH", help="Take the key from a file.")
    @argument(
        "--universe",
        metavar="U",
        help="Use this key only for universe U (and check "
        "it there); an id or environment name of the manifest, or a comma list.",
    )
    def rbx_secret_login(self, line: str) -> None:
        """Enter an Open Cloud API key in a masked prompt, for this session only.

        The key stays in memory (never in a trait, a file, the history or an output) until
        %rbx_secret_logout or the end of the session, and is used instead of RBX_API_KEY.
        With --universe, the key is used for that universe only. When a universe is known,
        the key is checked there first and kept only if Roblox accepts it.

        Examples
        --------
        ::

            In [1]: %rbx_secret_login
            Open Cloud API key: ········
            API key accepted for universe 6930499524; used for every universe in this session
            only (%rbx_secret_logout forgets it).

            In [2]: %rbx_secret_login --universe 1234567
            In [3]: %rbx_secret_login --from-env MY_OPEN_CLOUD_KEY
        """
        self._run(self.rbx_secret_login, line, self._login)

    def _login(self, args: argparse.Namespace) -> None:
        magic = "rbx_secret_login"
        scopes: list[int | None] = (
            list(self._targets(magic, args.universe)) if args.universe else [None]
        )
        checks = [u for u in scopes if u is not None] or [
            u for u in [self._universe_or_none(magic, None)] if u is not None
        ]
        if args.from_env is None and args.from_file is None:
            from ..values import check_masked_prompt

            check_masked_prompt(what="key", sources=_KEY_SOURCES)
        from ..values import read_value

        key = read_value(
            prompt="Open Cloud API key: ",
            from_env=args.from_env,
            from_file=args.from_file,
            what="key",
            sources=_KEY_SOURCES,
        )
        for check in checks:
            with self._new_client(check, key) as probe:
                probe.public_key()
        for scope in scopes:
            self._keys[scope] = key
        self._forget_clients()
        named = [str(u) for u in scopes if u is not None]
        where = f"universe {', '.join(named)}" if named else "every universe"
        checked = (
            f"API key accepted for universe {', '.join(map(str, checks))}"
            if checks
            else "API key kept (not checked: no universe configured)"
        )
        print(f"{checked}; used for {where} in this session only (%rbx_secret_logout forgets it).")

    @line_magic
    @magic_arguments()
    @argument(
        "--universe",
        metavar="U",
        help="Forget only the key given for universe U (an id "
        "or environment name of the manifest, or a comma list).",
    )
    def rbx_secret_logout(self, line: str) -> None:
        """Forget the API key(s) entered with %rbx_secret_login.

        Afterwards the magics use RBX_API_KEY from the environment, if it is set; the message
        says which key is in use now.

        Examples
        --------
        ::

            In [1]: %rbx_secret_logout
            Forgot the session API key for every universe; RBX_API_KEY from the environment is
            used now.
        """
        self._run(self.rbx_secret_logout, line, self._logout)

    def _logout(self, args: argparse.Namespace) -> None:
        magic = "rbx_secret_logout"
        if args.universe is not None:
            universes = self._universes(magic, args.universe)
            universe: int | None = universes[0]
            forgot = any([self._keys.pop(u, None) is not None for u in universes])
            named = ", ".join(map(str, universes))
            done = f"Forgot the session API key for universe {named}"
            nothing = f"There was no session API key for universe {named}"
        else:
            universe = None
            forgot = bool(self._keys)
            self._keys.clear()
            done = "Forgot the session API key for every universe"
            nothing = "There was no session API key"
        self._forget_clients()
        print(f"{done if forgot else nothing}; {self._key_in_use(universe)}.")

    def _key_in_use(self, universe: int | None) -> str:
        """Say which credential the magics use now (for ``universe``, or by default)."""
        if self._keys.get(None) is not None:
            return "the session API key given for every universe is used now"
        if universe is None and self._keys:
            return (
                f"the session API keys of universe(s) {', '.join(map(str, self._keys))} "
                "are still kept"
            )
        try:
            credential = env_credential()
        except InvalidInputError:
            return f"{ENV_API_KEY} is set but holds no usable key"
        if credential is None:
            return (
                f"no API key is set now: run %rbx_secret_login or set {ENV_API_KEY} before "
                "starting IPython/Jupyter"
            )
        var = ENV_API_KEY if os.environ.get(ENV_API_KEY, "").strip() else ENV_OAUTH_TOKEN
        return f"{var} from the environment is used now"

    @line_magic
    @magic_arguments()
    @argument(
        "--manifest",
        metavar="FILE",
        help="The manifest (default: the manifest trait, else rbxsecrets.toml here).",
    )
    @argument(
        "--env-file",
        metavar="FILE",
        help="Read values from this .env file first, then "
        "the environment; without a manifest, every entry is a secret.",
    )
    @argument("--universe", metavar="U", help=_UNIVERSE_HELP)
    @argument(
        "--environment", metavar="NAME", help="Environment(s) of the manifest, comma separated."
    )
    @argument(
        "--prune",
        action="store_true",
        help="Delete secrets the manifest does not list (never protected ones).",
    )
    @argument(
        "--protect",
        metavar="GLOB",
        action="append",
        default=[],
        help="Never delete secrets matching GLOB; repeatable.",
    )
    @argument("--dry-run", action="store_true", help="Only show the plan.")
    @argument(
        "--yes", action="store_true", help="Delete (and with --restart, restart) without asking."
    )
    @argument("--restart", action="store_true", help=_RESTART_HELP)
    @argument("--bleed-off", metavar="MINUTES", help=_BLEED_OFF_HELP)
    def rbx_secret_sync(self, line: str) -> None:
        """Make experiences' secrets match the manifest: show the plan, then apply it.

        Lists each universe once and fetches its key once, shows what would change (HTML
        table in Jupyter, text in a terminal: ``+`` create, ``~`` update with the reason,
        ``-`` delete, ``=`` unchanged, ``.`` keep), asks before deleting anything, then
        writes only what is not unchanged, with a progress bar, and shows each result.
        Values come from --env-file, else from environment variables named like the
        secrets; never from the line. Running it again with nothing changed writes nothing.
        With --restart, each universe whose changes all succeeded has its game servers
        restarted afterwards (saying how and asking first; --yes answers).

        Examples
        --------
        ::

            In [1]: %rbx_secret_sync --env-file .env --dry-run
            In [2]: %rbx_secret_sync --env-file .env --environment staging
            In [3]: %rbx_secret_sync --env-file prod.env --universe production --prune
            In [4]: %rbx_secret_sync --env-file .env --restart --bleed-off 10 --yes
        """
        self._run(self.rbx_secret_sync, line, self._sync)

    def _sync(self, args: argparse.Namespace) -> None:
        magic = "rbx_secret_sync"
        restart = self._restart_option(magic, args)
        if restart is not None and args.dry_run:
            raise _fail(
                magic,
                "--dry-run changes nothing, so --restart has nothing to roll out; drop one of them",
            )
        report = self._run_sync(magic, args)
        if restart is not None:
            from ..operations.rollout import sync_results

            self._restart_after(magic, sync_results(report), restart, args.yes)
        failed = getattr(report, "failed", [])
        if failed:
            raise _fail(
                magic,
                f"{len(failed)} change(s) failed or have an unknown outcome (see "
                "the table); fix the cause and run the same command again: what is "
                "done is not redone",
            )

    def _run_sync(self, magic: str, args: argparse.Namespace) -> Any:
        """Plan and apply through run_sync, with this session's clients and display."""
        from IPython.display import display

        from ..errors import DeclinedError
        from .sync_magic import SyncOptions, run_sync

        options = SyncOptions(
            manifest=args.manifest,
            env_file=args.env_file,
            universe=args.universe,
            environment=args.environment,
            prune=args.prune,
            protect=tuple(args.protect),
            dry_run=args.dry_run,
            yes=args.yes,
        )
        try:
            result = run_sync(
                options,
                configured_manifest=self.manifest,
                default_universe=self.default_universe(),
                client_for=lambda universe: self._client(magic, universe),
                show=display,
                ask=_ask,
                progress_bar=self._progress_bar,
            )
        except DeclinedError as exc:
            raise _fail(magic, str(exc)) from None
        self._remember_sync(result)
        return result

    def _remember_sync(self, result: Any) -> None:
        """Feed tab completion with what the sync created and deleted."""
        for outcome in getattr(result, "outcomes", []):
            if outcome.result != "done":
                continue
            known = self.known_ids.setdefault(outcome.change.universe, set())
            if outcome.change.action == "delete":
                known.discard(outcome.change.id)
            else:
                known.add(outcome.change.id)

    @line_magic
    @magic_arguments()
    @argument(
        "--places",
        metavar="ID[,ID...]",
        help="Restart only these places' servers (default: every place of the universe).",
    )
    @argument("--bleed-off", metavar="MINUTES", help=_BLEED_OFF_HELP)
    @argument("--universe", metavar="U", help=_UNIVERSE_HELP)
    @argument("--yes", action="store_true", help=_YES_HELP)
    def rbx_servers_restart(self, line: str) -> None:
        """Restart an experience's game servers so they load the secrets as they are now.

        Running servers keep the secrets they started with. This says what will happen to
        the players, asks, then restarts every place's servers (or those of --places), on
        every place version. With --bleed-off, old servers take no new players and shut down
        after that many minutes; without it they shut down now. --yes answers the question;
        where nothing can ask (a headless kernel) and --yes is missing, nothing is restarted.
        The API key needs the universe API system with write permission.

        Examples
        --------
        ::

            In [1]: %rbx_servers_restart --bleed-off 10
            Servers of every place in universe 6930499524 stop taking players now and shut
            down in 10 minutes.
            Restart them? Players on them are disconnected. [y/N] y
            Restarted the servers of universe 6930499524: new servers load the secrets as
            they are now (old ones drain for 10 minutes).

            In [2]: %rbx_servers_restart --places 1818,1819 --yes --universe staging
        """
        self._run(self.rbx_servers_restart, line, self._servers_restart)

    def _servers_restart(self, args: argparse.Namespace) -> None:
        from ..operations.rollout import (
            RestartOptions,
            RestartTarget,
            parse_bleed_off,
            parse_place_ids,
        )

        magic = "rbx_servers_restart"
        options = RestartOptions(
            place_ids=parse_place_ids(args.places),
            bleed_off_minutes=parse_bleed_off(args.bleed_off),
        )
        universes = self._universes(magic, args.universe)
        self._roll_out(magic, [RestartTarget(u, str(u)) for u in universes], options, args.yes)

    @line_magic
    @magic_arguments()
    @argument("name", metavar="NAME", help="Secret id.")
    @argument("url", nargs="?", metavar="URL", help="The URL the game calls (http:// or https://).")
    @argument("--universe", metavar="U", help=_UNIVERSE_HELP)
    def rbx_secret_check(self, line: str) -> None:
        """Say whether a game server could send a secret to a URL, and if not, what would.

        Reads the secret's domain from a listing (no value is needed) and applies the domain
        rule of in-game ``HttpService``: a private secret goes nowhere, ``*`` everywhere,
        ``api.example.com`` to that host only, ``*.example.com`` to hosts under it. When the
        answer is no, it names the ``--domain`` for %rbx_secret_set that would allow it.
        Only the URL's host matters, and the line stays in the history: a URL with a user
        name, query or fragment is refused, and a path holding a token (a webhook URL) is
        best cut to ``https://host/``.

        Examples
        --------
        ::

            In [1]: %rbx_secret_check api_token https://api.example.com/v1
            No: api_token is private (no domain), so a game server cannot send it anywhere.
            To allow it, set --domain api.example.com (this host only) or --domain
            '*.example.com' (every host under example.com).

            In [2]: %rbx_secret_check stripe_key https://api.stripe.com/v1 --universe staging
            Yes: a game server can send stripe_key to api.stripe.com (domain '*.stripe.com'
            allows api.stripe.com).
        """
        self._run(self.rbx_secret_check, line, self._secret_check)

    def _secret_check(self, args: argparse.Namespace) -> None:
        from ..operations.preflight import check_secret, check_url

        magic = "rbx_secret_check"
        name = self._check_names(magic, [args.name])[0]
        if args.url is None:
            raise _fail(magic, "give the URL the game calls: %rbx_secret_check NAME URL")
        check_url(args.url)
        if not _plain_url(args.url):
            # The line stays in the history when the check succeeds: a token must not.
            raise _fail(
                magic,
                "give the URL without its user name, query or fragment (a "
                "token there would stay in the history); only its host matters, "
                "e.g. https://api.example.com/",
            )
        universes = self._universes(magic, args.universe)
        checks = [check_secret(self._client(magic, u), name, args.url) for u in universes]
        missing = [c.label for c in checks if c.domain is None]
        for check in checks:
            if check.domain is not None:
                print(check.explain(with_universe=len(checks) > 1))
        if missing:
            raise _fail(
                magic,
                f"no secret named '{name}' in universe {', '.join(missing)}; "
                "nothing to check (set it first, with --domain for the URL's host)",
            )

    # ------------------------------------------------------------------------- rollout

    def _restart_option(self, magic: str, args: argparse.Namespace) -> Any:
        """--restart's options (None without it); --bleed-off and --yes need --restart."""
        from ..operations.rollout import RestartOptions, parse_bleed_off

        if not args.restart:
            extra = [
                o
                for o, given in (
                    ("--bleed-off", args.bleed_off is not None),
                    ("--yes", args.yes and magic != "rbx_secret_sync"),
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
        return RestartOptions(bleed_off_minutes=parse_bleed_off(args.bleed_off))

    def _write_each(
        self, magic: str, universes: list[int], write: Any, restart: Any
    ) -> list[tuple[int, str]]:
        """Run ``write(universe)`` for each; with --restart, a failure says nothing restarted."""
        written: list[tuple[int, str]] = []
        message = ""
        try:
            for universe in universes:
                written.append((universe, "done" if write(universe) else "skipped"))
        except (RbxSecretsError, UsageError) as exc:
            if restart is None:
                raise
            message = (
                str(exc) if isinstance(exc, UsageError) else str(_fail(magic, _explain(exc, magic)))
            )
            _scrub(exc)
        if message:
            # Raised outside the except: no __context__ back to the frames that held a value.
            changed = [str(u) for u, result in written if result == "done"]
            note = (
                f" (already changed in universe {', '.join(changed)}: restart it with "
                "%rbx_servers_restart once the rest is done)"
                if changed
                else ""
            )
            raise UsageError(f"{message} Nothing was restarted{note}.")
        return written

    def _restart_after(
        self, magic: str, results: list[tuple[int, str]], options: Any, yes: bool
    ) -> None:
        """--restart: restart each universe whose writes were all done, once."""
        from ..operations.rollout import restart_targets_after_writes

        targets, notes = restart_targets_after_writes(results)
        for note in notes:
            print(note)
        self._roll_out(magic, targets, options, yes)

    def _roll_out(self, magic: str, targets: list[Any], options: Any, yes: bool) -> None:
        """Describe, confirm and restart (rollout's rule); fail unless every restart is done."""
        from ..errors import DeclinedError
        from ..operations.rollout import roll_out, summarize_failures

        try:
            outcomes = roll_out(
                targets, options, lambda u: self._client(magic, u), yes=yes, ask=_ask, say=print
            )
        except DeclinedError as exc:
            raise _fail(magic, str(exc)) from None
        failure = summarize_failures(outcomes)
        if failure is not None:
            raise _fail(magic, failure)

    # ------------------------------------------------------------------------- bulk set

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
        with self._progress_bar(len(values), f"universe {universe}") as bar:

            def advance(_result: Any) -> None:
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

    @contextmanager
    def _progress_bar(self, total: int, desc: str) -> Iterator[Any]:
        with warnings.catch_warnings():
            # Without ipywidgets, tqdm.auto warns once and falls back to a text bar: fine.
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
        bar = tqdm(total=total, desc=desc, unit="secret", disable=not self.progress)
        try:
            yield bar
        finally:
            bar.close()

    # ----------------------------------------------------------------------- helpers

    def _run(self, method: Any, line: str, body: Callable[[argparse.Namespace], Any]) -> Any:
        """Read ``line`` for ``method``, run ``body`` with the arguments, and report failures.

        Known errors become one plain ``UsageError``, raised here, outside any ``except``: so it
        has no ``__context__`` leading back to the frames that held a value, and those frames
        (``body``'s and below) are emptied of their locals. A refused line that may hold a
        value is replaced in the history by its safe form (see :meth:`_refused`).
        """
        from .magic_line import read_line

        magic = method.__name__
        reading: LineReading | None = None
        message = ""
        try:
            reading = read_line(line, self._line_spec(method))
            return body(self._arguments(method, reading))
        except UsageError as exc:
            message = str(exc).removeprefix(f"%{magic}: ")
            _scrub(exc)
        except ValueSourceError as exc:
            message = str(exc)
            _scrub(exc)
        except RbxSecretsError as exc:
            message = _explain(exc, magic)
            _scrub(exc)
        except KeyboardInterrupt as exc:
            # A traceback here would show, under %xmode Verbose, the client's locals: the
            # plaintext among them. Ctrl-C is the user's choice, not a bug, so one line.
            message = (
                "interrupted; a change already sent may have been made: check with "
                "%rbx_secret_list, or run the same command again"
            )
            _scrub(exc)
        except Exception as exc:
            # A real bug keeps its traceback, but the finished frames below this one are
            # emptied of their locals: under %xmode Verbose they would print the plaintext.
            _scrub(exc)
            raise
        raise self._refused(magic, line, reading, message)

    def _refused(
        self, magic: str, line: str, reading: LineReading | None, message: str
    ) -> UsageError:
        """The UsageError for ``message``; first, a line that may hold a value leaves history."""
        if reading is None or not reading.masked:
            return _fail(magic, message)
        from .redact import redact_magic_line

        words = [w.raw for w in reading.masked] + [w.text for w in reading.masked if w.text]
        done = redact_magic_line(self.shell, magic, line, reading.safe_line, words)
        note = "Words that may be a value are not repeated here"
        if not done.history:
            note += "."
        elif done.log is False:
            note += (
                f" and were removed from this session's history, but not from the %logstart "
                f"log {done.log_file}: remove them there."
            )
        elif done.log:
            note += " and were removed from this session's history and its %logstart log."
        else:
            note += " and were removed from this session's history."
        text = " ".join(message.split())
        text = text if text.endswith((".", "?")) else text + "."
        return _fail(magic, f"{text} {note}")

    def _line_spec(self, method: Any) -> LineSpec:
        """What ``method``'s line may hold, and when each argument is certainly not a value."""
        from ..values import is_env_var_name
        from .magic_line import LineSpec, OptionSpec

        parser: argparse.ArgumentParser = method.parser
        namespace = self.shell.user_ns if self.shell is not None else {}

        def environments(text: str) -> bool:
            names = [t.strip() for t in text.split(",")]
            known = self.environment_names() if any(not n.isdigit() for n in names) else []
            return all(n in known for n in names)

        def universes(text: str) -> bool:
            names = [t.strip() for t in text.split(",")]
            known = self.environment_names() if any(not n.isdigit() for n in names) else []
            return all(n in known or _passes(validate_universe_id, n) for n in names)

        safe: dict[str, Callable[[str], bool]] = {
            "--universe": universes,
            "--environment": environments,
            "--domain": lambda t: _passes(validate_domain, t),
            "--from-env": lambda t: t in os.environ or is_env_var_name(t),
            "--from-var": lambda t: t.isidentifier() and t in namespace,
            "--from-file": _existing_path,
            "--env-file": _existing_path,
            "--manifest": _existing_path,
            # A pattern of secret ids: the characters of an id and glob's own.
            "--protect": lambda t: _GLOB_OF_IDS.fullmatch(t) is not None,
            "--places": lambda t: re.fullmatch(r"[0-9]{1,19}(,[0-9]{1,19})*", t) is not None,
            "--bleed-off": lambda t: re.fullmatch(r"[0-9]{1,2}", t) is not None,
        }
        options = {
            name: OptionSpec(action.nargs != 0, safe.get(name, lambda _t: False))
            for name, action in parser._option_string_actions.items()
            if name.startswith("--")
        }
        count, required = _POSITIONALS.get(method.__name__, (0, False))
        urls = method.__name__ == "rbx_secret_check"
        return LineSpec(
            options,
            count,
            required,
            lambda t: _passes(validate_secret_id, t) or (urls and _plain_url(t)),
        )

    def _arguments(self, method: Any, reading: LineReading) -> argparse.Namespace:
        """The parsed arguments, or a UsageError in our words (argparse's may quote a value)."""
        magic = method.__name__
        if reading.problems:
            problems = "; ".join(reading.problems)
            if any(p.startswith("unexpected word") for p in reading.problems):
                offered = [o for o in _SOURCE_OPTIONS if o in method.parser._option_string_actions]
                what = "keys" if magic == "rbx_secret_login" else "values"
                if offered:
                    problems += (
                        f"; {what} are never typed on the line: they come from the "
                        f"masked prompt, {', '.join(offered[:-1])} or {offered[-1]}"
                    )
            raise _fail(magic, f"{problems}; see %{magic}?")
        try:
            args: argparse.Namespace = method.parser.parse_args(reading.argv)
        except UsageError:
            raise _fail(magic, f"the line cannot be read; see %{magic}?") from None
        return args

    def _check_names(self, magic: str, names: list[str]) -> list[str]:
        bad = [name for name in names if not _passes(validate_secret_id, name)]
        if bad:
            # An invalid name may be a value typed in the wrong place: it is not echoed, and
            # _run removes it from the history.
            which = (
                "the name given is"
                if len(names) == 1
                else f"{len(bad)} of the names {'is' if len(bad) == 1 else 'are'}"
            )
            raise _fail(
                magic,
                f"{which} not a valid secret id (1-64 ASCII letters, digits and "
                "underscores, not starting with a digit)",
            )
        return names

    def _check_domain(self, domain: str | None) -> str | None:
        try:
            return validate_domain(domain)
        except InvalidInputError as exc:
            # The rule broken, never the domain itself: it may be a value typed there.
            reason = str(exc).rsplit(": ", 1)[-1]
            raise _fail("rbx_secret_set", f"invalid domain given to --domain: {reason}") from None

    @staticmethod
    def _check_value(value: SecretValue) -> None:
        from ..opencloud.validation import validate_value

        validate_value(value.reveal())

    def _universe(self, magic: str, given: str | None) -> int:
        """The universe to use, or a UsageError that says how to configure one."""
        universe = self._universe_or_none(magic, given)
        if universe is None:
            raise _fail(magic, _NO_UNIVERSE)
        return universe

    def _universes(self, magic: str, given: str | None) -> list[int]:
        """--universe as ids or environment names (comma list), else the configured one."""
        if given is None:
            return [self._universe(magic, None)]
        return self._targets(magic, given)

    def _targets(self, magic: str, given: str) -> list[int]:
        """Resolve a --universe value; the manifest is read only for environment names."""
        from ..secrets_as_code.manifest import split_tokens

        tokens = list(dict.fromkeys(split_tokens([given])))
        if not tokens:
            raise _fail(
                magic,
                f"--universe is empty; give a universe id or an environment name; see %{magic}?",
            )
        if all(t.isascii() and t.isdigit() for t in tokens):
            return [self._checked_universe(magic, t, "--universe") for t in tokens]
        from ..errors import InvalidInputError
        from .sync_magic import manifest_for_magics, resolve_universe_option

        try:
            manifest = manifest_for_magics(self.manifest)
            if manifest is None:
                raise _fail(
                    magic,
                    f"--universe {_UNIVERSE_RULE}; environment names need a "
                    "manifest (rbxsecrets.toml here, or %config "
                    "RbxSecretsMagics.manifest)",
                )
            return [t.universe_id for t in resolve_universe_option(given, manifest, None)]
        except InvalidInputError as exc:  # a broken manifest or an unknown name
            raise _fail(magic, str(exc)) from None

    def _universe_or_none(self, magic: str, given: str | None) -> int | None:
        """--universe (one), else the universe_id trait, else RBX_UNIVERSE_ID, else None."""
        if given is not None:
            found = self._targets(magic, given)
            if len(found) > 1:
                raise _fail(magic, f"--universe takes one universe here; see %{magic}?")
            return found[0]
        if self.universe_id is not None:
            return int(self.universe_id)
        if os.environ.get(ENV_UNIVERSE_ID, "").strip():
            return self._checked_universe(magic, os.environ[ENV_UNIVERSE_ID], ENV_UNIVERSE_ID)
        return None

    @staticmethod
    def _checked_universe(magic: str, text: str, source: str) -> int:
        from ..errors import InvalidInputError
        from ..opencloud.validation import validate_universe_id

        try:
            return validate_universe_id(text)
        except InvalidInputError:
            raise _fail(magic, f"{source} {_UNIVERSE_RULE}") from None

    def environment_names(self) -> list[str]:
        """The manifest's environment names, for completion; [] without a usable manifest."""
        from ..errors import InvalidInputError
        from .sync_magic import manifest_for_magics

        try:
            manifest = manifest_for_magics(self.manifest)
        except InvalidInputError:
            return []
        return list(manifest.environments) if manifest is not None else []

    def default_universe(self) -> int | None:
        """The configured universe (trait or RBX_UNIVERSE_ID), or None; never raises."""
        try:
            return self._universe_or_none("", None)
        except UsageError:
            return None

    def _client(self, magic: str, universe: int) -> SecretsClient:
        """A cached client for ``universe`` with the session key, else the environment's."""
        key = self._keys.get(universe) or self._keys.get(None)
        from_env = env_credential() if key is None else None
        if key is not None:
            credential = key.reveal()
        elif from_env is not None:
            credential = from_env.secret
        else:
            raise _fail(magic, _NO_KEY)
        cache_key = (
            universe,
            self.base_url,
            self.timeout,
            self.max_retries,
            os.environ.get(ENV_BASE_URL),
            hashlib.sha256(credential.encode()).hexdigest(),
        )
        client = self._clients.get(cache_key)
        if client is None:
            client = self._new_client(universe, key)
            # The configuration or key changed: the old client's session is of no more use.
            for stale in [k for k in self._clients if k[0] == universe]:
                self._clients.pop(stale).close()
            self._clients[cache_key] = client
        return client

    def _forget_clients(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _new_client(self, universe: int, key: SecretValue | None) -> SecretsClient:
        from ..opencloud.client import SecretsClient

        return SecretsClient(
            universe,
            api_key=key.reveal() if key is not None else None,
            base_url=self.base_url or None,
            timeout=self.timeout,
            max_retries=self.max_retries,
            pacer=self._shared_pacer(),
        )

    def _shared_pacer(self) -> Pacer:
        """The pacer every client of this session shares."""
        if self._pacer is None:
            from ..opencloud.pacing import Pacer

            self._pacer = Pacer()
        return self._pacer

    def _delete_each(
        self, magic: str, client: SecretsClient, universe: int, names: list[str], missing_ok: bool
    ) -> tuple[list[str], list[str]]:
        from ..errors import NotFoundError, RbxSecretsError

        deleted: list[str] = []
        skipped: list[str] = []
        known = self.known_ids.setdefault(universe, set())
        for name in names:
            try:
                client.delete(name)
            except NotFoundError:
                if not missing_ok:
                    done = (
                        f" (deleted before it: {_quoted(deleted)})"
                        if deleted
                        else "; nothing was deleted"
                    )
                    raise _fail(
                        magic,
                        f"no secret named '{name}' in universe {universe}{done}; "
                        "add --missing-ok to skip missing names",
                    ) from None
                skipped.append(name)
            except RbxSecretsError as exc:
                if not deleted:
                    raise
                raise _fail(
                    magic,
                    f"{_explain(exc, magic)} (already deleted: {_quoted(deleted)}; "
                    "not deleted: "
                    f"{_quoted(names[len(deleted) + len(skipped) :])})",
                ) from None
            else:
                deleted.append(name)
            known.discard(name)
        return deleted, skipped

    @staticmethod
    def _describe_set(result: Any, universe: int, length: int, domain_given: bool) -> str:
        info = getattr(result, "info", None)
        domain = getattr(info, "domain", None)
        where = f"domain {domain}" if domain else "private"
        if result.action == "created":
            return (
                f"Created secret '{result.secret_id}' in universe {universe}: "
                f"{length} characters, {where}."
            )
        change = " (changed)" if domain_given else ""
        return (
            f"Updated secret '{result.secret_id}' in universe {universe}: {length} "
            f"characters, {where}{change}. Running game servers get the new value when "
            "they restart."
        )


# What --protect takes: a glob over secret ids.
_GLOB_OF_IDS = re.compile(r"[A-Za-z0-9_*?\[\]!-]{1,128}")
# How many secret names each magic takes (-1: any number), and whether one is required.
_POSITIONALS = {
    "rbx_secret_set": (1, False),
    "rbx_secret_delete": (-1, True),
    "rbx_secret_check": (2, True),
}


def _passes(check: Callable[[str], object], text: str) -> bool:
    try:
        check(text)
    except InvalidInputError:
        return False
    return True


def _existing_path(text: str) -> bool:
    try:
        return Path(text).expanduser().exists()
    except (OSError, ValueError):
        return False


def _scrub(exc: BaseException) -> None:
    """Empty the finished frames of ``exc`` and of every exception chained to it.

    They may hold the plaintext (the magic's body, the client's send); %debug, %xmode Verbose
    and ``sys.last_value.__context__`` would reach it.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__context__, current.__cause__]
        pending += list(getattr(current, "exceptions", ()))


def _plain_url(text: str) -> bool:
    """An http(s) URL with a valid host and no user, query or fragment (where tokens hide)."""
    from ..opencloud.domains import url_host

    return not any(c in text for c in "?#@") and _passes(url_host, text)


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _describe_delete(universe: int, deleted: list[str], skipped: list[str]) -> str:
    if len(deleted) == 1:
        text = f"Deleted secret '{deleted[0]}' in universe {universe}."
    elif deleted:
        text = f"Deleted {len(deleted)} secrets in universe {universe}: {_quoted(deleted)}."
    else:
        text = f"Deleted nothing in universe {universe}."
    if skipped:
        text += f" Not found, skipped: {_quoted(skipped)}."
    return text


def _ask(question: str) -> bool | None:
    """Ask yes/no with ``input`` (ipykernel's, looked up now); None when nothing can ask."""
    import builtins

    from IPython.core.error import StdinNotImplementedError

    try:
        answer = builtins.input(question)
    except StdinNotImplementedError:
        return None
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def _explain(exc: RbxSecretsError, magic: str) -> str:
    """The client's one-line message plus what to do in IPython terms."""
    from ..errors import AuthenticationError, TransportError

    message = str(exc)
    if isinstance(exc, AuthenticationError) and magic == "rbx_secret_login":
        # The key just given was refused: RBX_API_KEY is beside the point.
        message = exc.message_with(
            "The key given was not accepted (mistyped, expired or "
            "revoked?) and was not kept; check it and run "
            "%rbx_secret_login again."
        )
    elif isinstance(exc, AuthenticationError):
        message += " Or run %rbx_secret_login to enter a key for this session."
    elif isinstance(exc, TransportError) and not exc.outcome_unknown:
        # In place of the client's advice, not after it: each message gives its advice once.
        message = exc.message_with(
            "Check the network and the base URL (%config "
            f"RbxSecretsMagics.base_url or {ENV_BASE_URL})."
        )
    return message
