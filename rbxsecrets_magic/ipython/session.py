"""What a magics session holds: its universes, its credentials and one client pool each.

Mixed into :class:`~rbxsecrets_magic.ipython.magics.RbxSecretsMagics`. Clients are cached per
universe and configuration; all clients of one credential share one pacer, since Roblox's rate
limit is per API key owner.
"""

from __future__ import annotations

import argparse
import hashlib
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
    ENV_BASE_URL,
    ENV_OAUTH_TOKEN,
    ENV_UNIVERSE_ID,
    env_credential,
)
from .wording import (
    _KEY_SOURCES,
    _NO_KEY,
    _NO_UNIVERSE,
    _UNIVERSE_RULE,
    _ask,
    _fail,
    _passes,
)

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..opencloud.pacing import Pacer
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
    _clients: dict[tuple[object, ...], SecretsClient]
    _pacer: Pacer | None
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
        kept = self._kept_login() if key is None and from_env is None else None
        if key is not None:
            credential = key.reveal()
        elif from_env is not None:
            credential = from_env.secret
        elif kept is not None:
            credential = kept.secret
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
            client = self._new_client(universe, key, kept)
            # The configuration or key changed: the old client's session is of no more use.
            for stale in [k for k in self._clients if k[0] == universe]:
                self._clients.pop(stale).close()
            self._clients[cache_key] = client
        return client

    def _forget_clients(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

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

    def _new_client(
        self, universe: int, key: SecretValue | None, kept: Credential | None = None
    ) -> SecretsClient:
        from ..opencloud.client import SecretsClient

        api_key = key.reveal() if key is not None else None
        oauth_token = None
        if kept is not None:
            api_key = kept.secret if kept.kind == "api key" else None
            oauth_token = kept.secret if kept.kind == "OAuth token" else None
        return SecretsClient(
            universe,
            api_key=api_key,
            oauth_token=oauth_token,
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
