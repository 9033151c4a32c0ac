"""Logins and the state's fingerprint key, kept in the system keyring.

``rbx-secrets login`` (and ``%rbx_secret_login --save``) keep an API key or OAuth token under
the service :data:`SERVICE` (``rbxsecrets-magic``), one entry per API base URL (the user name is
the base URL, as :func:`~rbxsecrets_magic.settings.check_base_url` normalizes it), so one
machine can keep a key for Roblox and another for a proxy. The credential order is the
session's login, then ``RBX_API_KEY`` / ``RBX_OAUTH_TOKEN``, then the keyring
(:data:`CREDENTIAL_ORDER`).

The state folder's fingerprint key (see :mod:`rbxsecrets_magic.secrets_as_code.state`) can
live there too, one entry per state folder, so that a copy of the folder (a backup, a CI
cache) holds fingerprints without the key that would let anyone test guesses against them.

Where no keyring exists (a container, CI), every function raises
:class:`~rbxsecrets_magic.errors.KeyringUnavailableError`, whose message says so in one line
and, for logins, suggests the environment variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import KeyringUnavailableError
from ..settings import ENV_API_KEY, ENV_OAUTH_TOKEN, Credential, check_base_url
from . import system_keyring

__all__ = [
    "CREDENTIAL_ORDER",
    "ENV_KEY_STORE",
    "SERVICE",
    "check_keyring",
    "delete_login",
    "fingerprint_key_account",
    "keyring_fingerprint_key",
    "load_fingerprint_key",
    "load_login",
    "login_account",
    "save_fingerprint_key",
    "save_login",
]

#: The keyring service every entry of this package is stored under.
SERVICE = "rbxsecrets-magic"
#: ``file`` keeps the state's fingerprint key in the state folder even where a keyring exists.
ENV_KEY_STORE = "RBX_SECRETS_KEY_STORE"
#: Where a credential is looked for, first to last (what ``rbx-secrets whoami`` explains).
CREDENTIAL_ORDER = (
    "the session's login (%rbx_secret_login)",
    f"{ENV_API_KEY}, then {ENV_OAUTH_TOKEN}",
    "the system keyring (rbx-secrets login)",
)
_LOGIN_ADVICE = (
    f"set {ENV_API_KEY} (or {ENV_OAUTH_TOKEN}) in the environment instead, e.g. from the CI's "
    "secret store"
)
_KINDS = {"api key": "api_key", "OAuth token": "oauth_token"}
_FINGERPRINT_PREFIX = "fingerprint-key "


def login_account(base_url: str) -> str:
    """The keyring user name a login for ``base_url`` is stored under (the normalized URL).

    Raises
    ------
    InvalidInputError
        ``base_url`` is not one credentials may be sent to.
    """
    checked = urlsplit(check_base_url(base_url))
    # Host names are case-insensitive: one login per server, however its URL is typed.
    return urlunsplit((checked.scheme, checked.netloc.lower(), checked.path, "", ""))


def check_keyring() -> str:
    """The keyring's name (``SecretService``), before a key is asked for that it could not keep.

    Raises
    ------
    KeyringUnavailableError
        No keyring here; the message suggests the environment variable.
    """
    try:
        return system_keyring.backend_name()
    except KeyringUnavailableError as exc:
        raise _with_login_advice(exc) from None


def _with_login_advice(exc: KeyringUnavailableError) -> KeyringUnavailableError:
    return KeyringUnavailableError(exc.reason, advice=_LOGIN_ADVICE)


def save_login(base_url: str, credential: Credential) -> None:
    """Keep ``credential`` in the keyring for ``base_url``, replacing any earlier one.

    Raises
    ------
    KeyringUnavailableError
        No keyring here (the message suggests the environment variable), or it refused.
    """
    entry = json.dumps({"kind": _KINDS[credential.kind], "secret": credential.secret})
    try:
        system_keyring.set_password(SERVICE, login_account(base_url), entry)
    except KeyringUnavailableError as exc:
        raise _with_login_advice(exc) from None


def load_login(base_url: str) -> Credential | None:
    """The credential kept for ``base_url``, or None when none is (or it is unreadable).

    Raises
    ------
    KeyringUnavailableError
        No keyring here, or it refused.
    """
    try:
        entry = system_keyring.get_password(SERVICE, login_account(base_url))
    except KeyringUnavailableError as exc:
        raise _with_login_advice(exc) from None
    if entry is None:
        return None
    try:
        data = json.loads(entry)
    except ValueError:
        return None
    kinds = {v: k for k, v in _KINDS.items()}
    if not isinstance(data, dict) or data.get("kind") not in kinds:
        return None
    secret = data.get("secret")
    if not isinstance(secret, str) or not secret:
        return None
    if data["kind"] == "api_key":
        return Credential("api key", secret)
    return Credential("OAuth token", secret)


def delete_login(base_url: str) -> bool:
    """Remove the credential kept for ``base_url``; whether there was one.

    Raises
    ------
    KeyringUnavailableError
        No keyring here, or it refused.
    """
    try:
        return system_keyring.delete_password(SERVICE, login_account(base_url))
    except KeyringUnavailableError as exc:
        raise _with_login_advice(exc) from None


def fingerprint_key_account(state_dir: str | os.PathLike[str]) -> str:
    """The keyring user name of the fingerprint key of ``state_dir`` (its absolute path)."""
    return _FINGERPRINT_PREFIX + str(Path(state_dir).expanduser().resolve())


def load_fingerprint_key(state_dir: str | os.PathLike[str]) -> bytes | None:
    """The 32-byte fingerprint key kept for ``state_dir``, or None when none (or malformed).

    Raises
    ------
    KeyringUnavailableError
        No keyring here, or it refused.
    """
    text = system_keyring.get_password(SERVICE, fingerprint_key_account(state_dir))
    if text is None:
        return None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        return None
    return key if len(key) == 32 else None


def save_fingerprint_key(state_dir: str | os.PathLike[str], key: bytes) -> None:
    """Keep the 32-byte ``key`` as the fingerprint key of ``state_dir``.

    Raises
    ------
    KeyringUnavailableError
        No keyring here, or it refused.
    ValueError
        ``key`` is not 32 bytes.
    """
    if len(key) != 32:
        raise ValueError("a fingerprint key is 32 bytes")
    system_keyring.set_password(SERVICE, fingerprint_key_account(state_dir), key.hex())


def keyring_fingerprint_key(
    state_dir: str | os.PathLike[str],
    *,
    create: bool,
    has_file: bool,
    environ: Mapping[str, str] | None = None,
) -> bytes | None:
    """The state folder's fingerprint key from the keyring, where one exists and is used.

    Called by :func:`rbxsecrets_magic.secrets_as_code.fingerprint_key.load_fingerprint_key`
    before it looks at the key file. A key kept for ``state_dir`` is returned. Without one,
    and when ``create`` is true and the folder has no key file (``has_file``; a folder that
    has one keeps using it), a new random key is made and kept in the keyring, under a lock in
    the folder so that two first runs agree on one key. None means "use the key file": no
    keyring here, ``$RBX_SECRETS_KEY_STORE`` is ``file``, or nothing kept and nothing to make.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_STORE, "").strip().lower() == "file":
        return None
    try:
        key = load_fingerprint_key(state_dir)
        if key is not None or not create or has_file:
            return key
        with _folder_lock(Path(state_dir)):
            # Another run may have made the key while this one waited for the lock.
            key = load_fingerprint_key(state_dir)
            if key is None:
                key = secrets.token_bytes(32)
                save_fingerprint_key(state_dir, key)
                # What the keyring holds now is the key: read back, never assumed.
                key = load_fingerprint_key(state_dir)
        return key
    except KeyringUnavailableError:
        return None


@contextlib.contextmanager
def _folder_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory/keyring-key.lock`` (the folder exists, 0700)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(directory / "keyring-key.lock", flags, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no lock; the key read back is the one used.
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
