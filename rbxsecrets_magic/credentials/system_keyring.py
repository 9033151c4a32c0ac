"""The system keyring (Secret Service, macOS Keychain, Windows Credential Locker), in one line.

A thin layer over the ``keyring`` library (the ``keyring`` extra) whose every failure is one
:class:`~rbxsecrets_magic.errors.KeyringUnavailableError`: the library missing, no backend
(a container, CI: keyring falls back to a backend that refuses everything), or a backend that
refused (a locked collection, D-Bus gone). Its messages never contain what is stored. The
library is imported on first use.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import KeyringUnavailableError

__all__ = ["backend_name", "delete_password", "get_password", "set_password"]


class _Backend(Protocol):
    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


def _backend() -> _Backend:
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        raise KeyringUnavailableError(
            "the keyring library is not installed (pip install 'rbxsecrets-magic[keyring]')"
        ) from None
    problem = None
    try:
        found = keyring.get_keyring()
    except Exception as exc:  # a backend's detection failed (D-Bus vanished, say)
        problem = f"the system keyring could not be opened ({type(exc).__name__})"
    if problem is not None:
        raise KeyringUnavailableError(problem)
    empty_chain = isinstance(found, chainer.ChainerBackend) and not found.backends
    if isinstance(found, fail.Keyring) or empty_chain or _is_null(found):
        raise KeyringUnavailableError(
            "no system keyring is available here: no Secret Service, Keychain or Credential "
            "Locker (a container, CI, or a session without D-Bus?)"
        )
    return found


def _is_null(found: object) -> bool:
    from keyring.backends import null

    return isinstance(found, null.Keyring)


def backend_name() -> str:
    """Which keyring is in use (``SecretService``), for messages.

    Raises
    ------
    KeyringUnavailableError
        There is none.
    """
    return type(_backend()).__module__.rpartition(".")[2]


def _refused(exc: Exception, doing: str) -> KeyringUnavailableError:
    return KeyringUnavailableError(
        f"the system keyring refused {doing} ({type(exc).__name__}: locked, or its service gone?)"
    )


def get_password(service: str, username: str) -> str | None:
    """The password stored for ``service`` and ``username``, or None when there is none.

    Raises
    ------
    KeyringUnavailableError
        No keyring, or it refused.
    """
    backend = _backend()
    error = None
    try:
        return backend.get_password(service, username)
    except Exception as exc:
        error = _refused(exc, "to read an entry")
    raise error


def set_password(service: str, username: str, password: str) -> None:
    """Store ``password`` for ``service`` and ``username``, replacing what was there.

    Raises
    ------
    KeyringUnavailableError
        No keyring, or it refused.
    """
    backend = _backend()
    error = None
    try:
        backend.set_password(service, username, password)
        return
    except Exception as exc:
        error = _refused(exc, "to store an entry")
    raise error


def delete_password(service: str, username: str) -> bool:
    """Remove the entry for ``service`` and ``username``; whether there was one.

    Raises
    ------
    KeyringUnavailableError
        No keyring, or it refused.
    """
    from keyring.errors import PasswordDeleteError

    backend = _backend()
    error = None
    try:
        if backend.get_password(service, username) is None:
            return False
        backend.delete_password(service, username)
        return True
    except PasswordDeleteError:
        return False
    except Exception as exc:
        error = _refused(exc, "to remove an entry")
    raise error
