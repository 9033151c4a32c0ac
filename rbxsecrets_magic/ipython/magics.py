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
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Integer, TraitError, Unicode, validate

from ..settings import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    ENV_UNIVERSE_ID,
    MAX_CONCURRENCY,
)
from . import completion

# Reading lines, values and history is imported by the magics that need it, on first use:
# loading the extension must not slow IPython's start (bench/load_ext.py).
from .wording import (
    _UNIVERSE_RULE,
    _VALUE_SOURCES,
    _describe_delete,
    _describe_set,
    _fail,
    _target,
)

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..opencloud.pacing import Pacer
    from ..operations.results import WriteRow
    from ..render.tables import SecretList
    from ..values import SecretValue

__all__ = ["RbxSecretsMagics"]

from .options import option
from .reading import ReadingMixin
from .session import SessionMixin
from .writes import WritesMixin


def _value_sources(magic: str, args: argparse.Namespace) -> list[str | None]:
    """The value options given, at most one; a ``--from`` checked to be a reference."""
    sources = [args.from_env, args.from_file, args.from_var, args.from_ref]
    if sum(s is not None for s in sources) > 1:
        raise _fail(magic, "give only one of --from-env, --from-file, --from-var and --from")
    if args.from_ref is not None:
        from ..value_sources import parse_reference

        parse_reference(args.from_ref)  # before any request; never repeats a non-reference
    return sources


@magics_class
class RbxSecretsMagics(ReadingMixin, WritesMixin, SessionMixin, Magics):
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
        self._given: list[str] = []
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
    @option("--domain")
    @option("--from-env")
    @option("--from-file")
    @option("--from-var")
    @option("--from")
    @option("--confirm")
    @option("--env-file")
    @option("--dry-run", help="With --env-file: only show what would be created or updated.")
    @option("--universe")
    @option("--restart")
    @option("--bleed-off")
    @option("--wait")
    @option("--timeout")
    @option("--legacy")
    @option("--yes")
    def rbx_secret_set(self, line: str) -> None:
        """Create or update a secret; the value comes from a masked prompt, never the line.

        Says whether the secret was created or updated, in which universe, and the value's
        length; never the value. Running game servers pick up a new value when they restart.
        In a headless kernel (nbclient, papermill) there is no prompt: use --from-env,
        --from-file, --from-var, or --from REF for where the value is kept (sops, AWS Secrets
        Manager, the keyring, a plugin). With --restart, once the value is set in every universe,
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
            In [6]: %rbx_secret_set stripe_key --from sops:secrets.enc.env#STRIPE_KEY
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
        sources = _value_sources(magic, args)
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
        if all(s is None for s in sources):
            # Before any request: without a terminal, nothing typed could be hidden.
            from .prompt import check_masked_prompt

            check_masked_prompt(what="value", sources=_VALUE_SOURCES)
        from ..operations.writes import set_secret
        from ..secrets_as_code.state import StateStore
        from .prompt import read_value

        def value() -> SecretValue:
            # The plaintext lives only in the operation's frames; on failure, _run empties them.
            if args.from_ref is not None:
                from ..value_sources import ResolutionContext

                with ResolutionContext() as run:
                    resolved = run.resolve(args.from_ref)
                self._given.append(resolved.reveal())
                return resolved
            given = read_value(
                prompt=f"Value for {name} (universe {', '.join(map(str, universes))}): ",
                from_env=args.from_env,
                from_file=args.from_file,
                from_var=args.from_var,
                namespace=self.shell.user_ns if self.shell is not None else {},
                confirm=args.confirm or self.confirm,
            )
            self._given.append(given.reveal())
            return given

        def said(row: WriteRow) -> None:
            if row.result == "done":
                self.known_ids.setdefault(row.universe, set()).add(name)
                print(_describe_set(row, args.domain is not None))

        report = set_secret(
            name,
            value,
            [_target(u) for u in universes],
            lambda u: self._client(magic, u),
            domain=domain,
            state=StateStore(),
            restart=restart,
            interaction=self._interaction(),
            exists=lambda u: (name in self.known_ids.get(u, ())) or None,
            on_row=said,
        )
        self._raise_failures(magic, report)
        return None

    @line_magic
    @magic_arguments()
    @argument("names", nargs="+", metavar="NAME", help="Secret ids to delete.")
    @option("--missing-ok")
    @option("--universe")
    @option("--restart")
    @option("--bleed-off")
    @option("--wait")
    @option("--timeout")
    @option("--legacy")
    @option(
        "--yes",
        help="Delete (and with --restart, restart) without asking (needed where nothing "
        "can ask, such as a headless kernel).",
    )
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
        from ..operations.writes import delete_secrets
        from ..secrets_as_code.state import StateStore

        magic = "rbx_secret_delete"
        restart = self._restart_option(magic, args)
        names = list(dict.fromkeys(self._check_names(magic, args.names)))
        targets = [_target(u) for u in self._universes(magic, args.universe)]
        rows: list[WriteRow] = []

        def said(row: WriteRow) -> None:
            rows.append(row)
            if row.result in ("done", "skipped"):
                self.known_ids.setdefault(row.universe, set()).discard(row.id)
            mine = [r for r in rows if r.universe == row.universe]
            if len(mine) == len(names):
                print(_describe_delete(row.universe, mine))

        report = delete_secrets(
            names,
            targets,
            lambda u: self._client(magic, u),
            missing_ok=args.missing_ok,
            yes=args.yes,
            state=StateStore(),
            restart=restart,
            interaction=self._interaction(),
            on_row=said,
        )
        self._raise_failures(magic, report)

    @line_magic
    @magic_arguments()
    @option("--universe")
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
    @option("--from-env", help="Take the key from environment variable VAR.")
    @option("--from-file", help="Take the key from a file.")
    @option(
        "--universe",
        help="Use this key only for universe U (and check "
        "it there); an id or environment name of the manifest, or a comma list.",
    )
    @option("--save")
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
            In [4]: %rbx_secret_login --save

        With --save, the key is also kept in the system keyring for the base URL (once a
        universe accepted it), for later sessions and rbx-secrets. The credential used is the
        session's login, then RBX_API_KEY, then RBX_OAUTH_TOKEN, then the system keyring.
        """
        self._run(self.rbx_secret_login, line, self._login)

    @line_magic
    @magic_arguments()
    @option(
        "--universe",
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

    @line_magic
    @magic_arguments()
    @option("--manifest")
    @option(
        "--env-file",
        help="Read values from this .env file first, then "
        "the environment; without a manifest, every entry is a secret.",
        metavar="FILE",
    )
    @option("--universe")
    @option("--environment")
    @option("--prune")
    @option("--protect")
    @option("--dry-run", help="Only show the plan.")
    @option("--atomic")
    @option("--yes", help="Delete (and with --restart, restart) without asking.")
    @option("--restart")
    @option("--bleed-off")
    @option("--wait")
    @option("--timeout")
    @option("--legacy")
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
        from IPython.display import display

        from ..operations.sync import SyncReport
        from .sync_magic import SyncOptions, run_sync

        magic = "rbx_secret_sync"
        restart = self._restart_option(magic, args)
        if restart is not None and args.dry_run:
            raise _fail(
                magic,
                "--dry-run changes nothing, so --restart has nothing to roll out; drop one of them",
            )
        options = SyncOptions(
            manifest=args.manifest,
            env_file=args.env_file,
            universe=args.universe,
            environment=args.environment,
            prune=args.prune,
            protect=tuple(args.protect),
            dry_run=args.dry_run,
            atomic=args.atomic,
            yes=args.yes,
            restart=restart,
        )
        result = run_sync(
            options,
            configured_manifest=self.manifest,
            default_universe=self.default_universe(),
            client_for=lambda universe: self._client(magic, universe),
            show=display,
            interaction=self._interaction(),
        )
        if not isinstance(result, SyncReport):
            return  # a dry run, or nothing to do: the plan was shown
        for outcome in result.report.outcomes:
            # Feed tab completion with what the sync created and deleted.
            if outcome.result == "done":
                known = self.known_ids.setdefault(outcome.change.universe, set())
                if outcome.change.action == "delete":
                    known.discard(outcome.change.id)
                else:
                    known.add(outcome.change.id)
        from ..operations.rollout import summarize_failures

        failed = result.failed
        if failed:
            raise _fail(
                magic,
                f"{len(failed)} change(s) failed or have an unknown outcome (see "
                "the table); fix the cause and run the same command again: what is "
                "done is not redone",
            )
        failure = summarize_failures(result.restarts)
        if failure is not None:
            raise _fail(magic, failure)

    @line_magic
    @magic_arguments()
    @option("--places")
    @option("--bleed-off")
    @option("--wait")
    @option("--timeout")
    @option("--legacy")
    @option("--universe")
    @option("--yes")
    def rbx_servers_restart(self, line: str) -> None:
        """Restart an experience's game servers so they load the secrets as they are now.

        Running servers keep the secrets they started with. Through Roblox's Server
        Management API, this shows the forecast (players and servers per place), asks, then
        restarts every version of every place's servers (or those of --places); with no
        server running it says so and restarts nothing. With --bleed-off (1-240 minutes), old
        servers take no new players and shut down after that long; without it, now. --wait
        follows the restart to the end with a progress bar (--timeout: how long). --yes
        answers the question; where nothing can ask (a headless kernel) and --yes is
        missing, nothing is restarted. The API key needs the universe API system with read
        and write; --legacy restarts through the older :restartServers, for a key with
        write only (no forecast, bleed-off 1-60).

        Examples
        --------
        ::

            In [1]: %rbx_servers_restart --bleed-off 10 --wait
            Restart 3 servers (41 players) in universe 6930499524: places 1818 (2 servers,
            30 players) and 1819 (1 server, 11 players); they stop taking players now and
            shut down in 10 minutes.
            Restart? [y/N] y
            Launched restart 6f1c... in universe 6930499524: new servers load the secrets
            as they are now (old ones drain for 10 minutes).
            Restart of universe 6930499524 succeeded: 3 servers in 2 places restarted
            (41 players moved to new servers).

            In [2]: %rbx_servers_restart --places 1818,1819 --yes --universe staging
        """
        self._run(self.rbx_servers_restart, line, self._servers_restart)

    def _servers_restart(self, args: argparse.Namespace) -> None:
        from ..operations.rollout import RestartTarget

        magic = "rbx_servers_restart"
        options = self._restart_options(args, args.places)
        universes = self._universes(magic, args.universe)
        self._roll_out(magic, [RestartTarget(u, str(u)) for u in universes], options, args.yes)

    @line_magic
    @magic_arguments()
    @argument("name", metavar="NAME", help="Secret id.")
    @argument("url", nargs="?", metavar="URL", help="The URL the game calls (http:// or https://).")
    @option("--universe")
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
        check_url(args.url)  # the line stays in the history: refuses a URL with a token
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
