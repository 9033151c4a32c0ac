"""What a magics session holds: its universes, its credentials and one client pool each.

Mixed into :class:`~rbxsecrets_magic.ipython.magics.RbxSecretsMagics`. Clients come from the
operations layer's :class:`~rbxsecrets_magic.operations.clients.ClientPool` (per universe,
configuration and credential; one pacer per credential, since Roblox's rate limit is per API
key owner); universes from its :func:`~rbxsecrets_magic.operations.targets.resolve_targets`.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ..errors import InvalidInputError
from ..opencloud.validation import validate_domain, validate_secret_id
from ..settings import (
    ENV_API_KEY,
    ENV_OAUTH_TOKEN,
    ENV_UNIVERSE_ID,
    env_credential,
)
from .wording import (
    _KEY_SOURCES,
    _NO_KEY,
    _ask,
    _fail,
    _passes,
    target_problem,
)

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..operations.clients import ClientPool
    from ..operations.interaction import Interaction, ProgressBar
    from ..settings import Credential
    from ..values import SecretValue


class SessionMixin:
    """Universes, credentials, clients and progress bars of the magics."""

    # Set by RbxSecretsMagics: its traits, and what its session keeps.
    universe_id: int | None
    base_url: str
    timeout: float
    max_retries: int
    progress: bool
    manifest: str
    known_ids: dict[int, set[str]]
    _keys: dict[int | None, SecretValue]
    _pool: ClientPool
    _given: list[str]

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
            if self._kept_login() is not None:
                return "the key kept in the system keyring (%rbx_secret_login --save) is used now"
            return (
                f"no API key is set now: run %rbx_secret_login or set {ENV_API_KEY} before "
                "starting IPython/Jupyter"
            )
        var = ENV_API_KEY if os.environ.get(ENV_API_KEY, "").strip() else ENV_OAUTH_TOKEN
        return f"{var} from the environment is used now"

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
        return self._resolve(magic, given, one=True)[0]

    def _universes(self, magic: str, given: str | None) -> list[int]:
        """--universe as ids or environment names (comma list), else the configured one."""
        return self._resolve(magic, given)

    def _targets(self, magic: str, given: str) -> list[int]:
        """Resolve a --universe value that was given; the manifest is read only for names."""
        return self._resolve(magic, given)

    def _resolve(self, magic: str, given: str | None, *, one: bool = False) -> list[int]:
        """The operations layer's target rule, its refusals worded for ``magic``."""
        from ..operations.targets import TargetError, resolve_targets
        from .sync_magic import manifest_for_magics

        default: int | str | None = self.universe_id
        if default is None:
            default = os.environ.get(ENV_UNIVERSE_ID)
        try:
            targets = resolve_targets(
                [given] if given is not None else [],
                manifest=lambda: manifest_for_magics(self.manifest),
                default=default,
                one=one,
                labels=False,
            )
        except TargetError as exc:
            raise _fail(magic, target_problem(magic, exc)) from None
        except InvalidInputError as exc:  # a broken manifest
            raise _fail(magic, str(exc)) from None
        return [t.universe_id for t in targets]

    def _universe_or_none(self, magic: str, given: str | None) -> int | None:
        """--universe (one), else the universe_id trait, else RBX_UNIVERSE_ID, else None."""
        configured = self.universe_id is not None or os.environ.get(ENV_UNIVERSE_ID, "").strip()
        if given is None and not configured:
            return None
        return self._universe(magic, given)

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
        """The pool's client for ``universe`` with the session key, else the environment's."""
        from ..operations.clients import NoCredentialError

        key = self._keys.get(universe) or self._keys.get(None)
        # The environment's credential, else the login kept in the system keyring.
        kept = self._kept_login() if key is None and env_credential() is None else None
        try:
            return self._pool.client(
                universe,
                api_key=key.reveal() if key is not None else None,
                credential=kept,
                base_url=self.base_url or None,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        except NoCredentialError:
            raise _fail(magic, _NO_KEY) from None

    def _forget_clients(self) -> None:
        self._pool.close()

    def _api_url(self) -> str:
        """The base URL the magics use, checked (the keyring keeps logins per base URL)."""
        from ..settings import check_base_url, chosen_base_url

        return check_base_url(chosen_base_url(self.base_url or None))

    def _kept_login(self) -> Credential | None:
        """The credential kept in the system keyring for the base URL; None without one."""
        from ..credentials.store import load_login
        from ..errors import KeyringUnavailableError

        try:
            return load_login(self._api_url())
        except (KeyringUnavailableError, InvalidInputError):
            return None

    def _new_client(self, universe: int, key: SecretValue) -> SecretsClient:
        """A client of its own for ``key`` (closed by the caller), on the key's pacer."""
        from ..opencloud.client import SecretsClient

        return SecretsClient(
            universe,
            api_key=key.reveal(),
            base_url=self.base_url or None,
            timeout=self.timeout,
            max_retries=self.max_retries,
            pacer=self._pool.pacer(key.reveal()),
        )

    def _interaction(self) -> Interaction:
        """Ask with ``input`` (ipykernel's frontend prompt), say with print, tqdm for progress."""
        from ..operations.interaction import Interaction

        return Interaction(ask=_ask, say=print, progress=self._progress_bar)

    @contextmanager
    def _progress_bar(self, total: int, desc: str) -> Iterator[ProgressBar]:
        with warnings.catch_warnings():
            # Without ipywidgets, tqdm.auto warns once and falls back to a text bar: fine.
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
        unit = "server" if desc.startswith("Restarting") else "secret"
        bar = tqdm(total=total, desc=desc, unit=unit, disable=not self.progress)
        try:
            yield bar
        finally:
            bar.close()

    def _login(self, args: argparse.Namespace) -> None:
        magic = "rbx_secret_login"
        scopes: list[int | None] = (
            list(self._targets(magic, args.universe)) if args.universe else [None]
        )
        checks = [u for u in scopes if u is not None] or [
            u for u in [self._universe_or_none(magic, None)] if u is not None
        ]
        keyring_name = self._check_save(magic, args.save, checks)
        if args.from_env is None and args.from_file is None:
            from .prompt import check_masked_prompt

            check_masked_prompt(what="key", sources=_KEY_SOURCES)
        from .prompt import read_value

        key = read_value(
            prompt="Open Cloud API key: ",
            from_env=args.from_env,
            from_file=args.from_file,
            what="key",
            sources=_KEY_SOURCES,
        )
        self._given.append(key.reveal())
        for check in checks:
            with self._new_client(check, key) as probe:
                probe.public_key()
        for scope in scopes:
            self._keys[scope] = key
        self._forget_clients()
        if keyring_name is not None:
            from ..credentials.store import save_login
            from ..settings import Credential

            save_login(self._api_url(), Credential("api key", key.reveal()))
        named = [str(u) for u in scopes if u is not None]
        where = f"universe {', '.join(named)}" if named else "every universe"
        checked = (
            f"API key accepted for universe {', '.join(map(str, checks))}"
            if checks
            else "API key kept (not checked: no universe configured)"
        )
        if keyring_name is None:
            print(
                f"{checked}; used for {where} in this session only (%rbx_secret_logout forgets it)."
            )
            return
        print(
            f"{checked}; used for {where} in this session, and kept in the system keyring "
            f"({keyring_name}) for {self._api_url()} for later sessions and rbx-secrets "
            "(rbx-secrets logout removes it)."
        )

    def _check_save(self, magic: str, save: bool, checks: list[int]) -> str | None:
        """For --save, before the key is asked for: the keyring's name, or a UsageError."""
        if not save:
            return None
        if not checks:
            raise _fail(
                magic,
                "--save keeps the key only once a universe accepted it: configure one "
                "(%config RbxSecretsMagics.universe_id = ...) or give --universe",
            )
        from ..credentials.store import check_keyring
        from ..errors import KeyringUnavailableError

        problem = None
        try:
            return check_keyring()
        except KeyringUnavailableError as exc:
            problem = str(exc)
        raise _fail(magic, problem)

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
