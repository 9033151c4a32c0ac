"""The fingerprint key of the apply state, and the privacy of the folder it lives in.

The key turns a value into its fingerprint; whoever holds both the key and the fingerprints
can test guesses offline (a 6-digit value in about a second). So, as ssh does with ``~/.ssh``,
a state folder or key file that anyone else can read or write, or that another user owns, is
refused with a one-line :class:`StateError` that names the path and the ``chmod`` that fixes it.

:func:`load_fingerprint_key` is the one place the key comes from. A new key is made whole or
not at all: written and fsynced under a temporary name, then hard-linked into place (which,
unlike a rename, never replaces a key another run made meanwhile: that run's key wins), then
the folder is fsynced, so a crash never leaves an empty key behind. An empty, short or
unreadable key is an error naming it, never silently replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shlex
import stat
import tempfile
from pathlib import Path

__all__ = [
    "ENV_STATE_DIR",
    "KEY_FILE",
    "StateError",
    "fsync_directory",
    "load_fingerprint_key",
    "make_private_directory",
    "reason",
]

#: The key's file name in the state folder.
KEY_FILE = "fingerprint.key"
#: Overrides where the state is kept (named in messages about a folder that is not usable).
ENV_STATE_DIR = "RBX_SECRETS_STATE_DIR"


class StateError(OSError):
    """The state cannot be used or saved; the one-line message names the path, why, and the fix."""


_KEY_LENGTH = 32
_START_OVER = "delete it to start over (the next apply then rewrites every secret once)"


def reason(exc: OSError) -> str:
    """An OSError's reason in a few words (its strerror, else its text or class)."""
    return exc.strerror or str(exc) or type(exc).__name__


def _refuse_shared(info: os.stat_result, path: Path, what: str, private: int) -> None:
    """Raise :class:`StateError` when ``path`` is not the user's alone (as ssh does)."""
    if os.name != "posix":
        return
    if info.st_uid != os.geteuid():
        raise StateError(
            f"{what} {path} belongs to another user, so it is ignored: use a folder of your "
            f"own (set {ENV_STATE_DIR})"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise StateError(
            f"{what} {path} can be read or written by others (mode {mode:04o}), so it is "
            f"ignored: run chmod {private:o} {shlex.quote(str(path))}"
        )


def _existing_directory(directory: Path) -> bool:
    """Whether the state folder exists; raises :class:`StateError` if it is not private."""
    try:
        info = directory.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateError(f"the state folder {directory} cannot be read ({reason(exc)})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise StateError(f"the state folder {directory} is not a folder; set {ENV_STATE_DIR}")
    _refuse_shared(info, directory, "the state folder", 0o700)
    return True


def make_private_directory(directory: Path) -> None:
    """Make ``directory`` and any missing parent, each 0700 whatever the umask."""
    # Every directory made here is 0700, parents included (mkdir(parents=True) would make
    # them 0777 minus the umask): a permissive umask must not let others swap ours out.
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def fsync_directory(directory: Path) -> None:
    """Make a name just linked or replaced in ``directory`` survive a crash."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_fingerprint_key(directory: Path, *, create: bool) -> bytes | None:
    """The fingerprint key of the state in ``directory``: the one place the key comes from.

    It is read from ``fingerprint.key`` there, which must be the user's alone (as must the
    folder) and hold 64 hex digits. When there is none and ``create`` is true, a random key is
    made there whole or not at all (written and fsynced under a temporary name, then linked,
    which never replaces a key another run made meanwhile: that one wins), and the folder is
    fsynced. Where a system keyring exists, the key of a folder without a key file is kept
    there instead (:func:`rbxsecrets_magic.credentials.store.keyring_fingerprint_key`), and
    a key kept there is used before the file.

    Returns
    -------
    bytes or None
        The 32-byte key; None when there is none and ``create`` is false.

    Raises
    ------
    StateError
        The folder or the key can be read or written by others, or the key is unreadable,
        empty or malformed, or cannot be made; the message says which path and what to do.
    """
    if not _existing_directory(directory):
        if not create:
            return None
        make_private_directory(directory)
    path = directory / KEY_FILE
    # Where a system keyring exists, a new folder's key is kept there, not beside the
    # fingerprints (a folder that has a key file keeps it); see credentials.store.
    from ..credentials.store import keyring_fingerprint_key

    kept = keyring_fingerprint_key(directory, create=create, has_file=os.path.lexists(path))
    if kept is not None:
        return kept
    key = _read_key_file(path)
    if key is not None or not create:
        return key
    return _create_key_file(path)


def _read_key_file(path: Path) -> bytes | None:
    # O_NOFOLLOW: the key is a file of the user's own, never whatever a symlink points to;
    # O_NONBLOCK: a FIFO planted there must not hang the open (it is refused below).
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == errno.ELOOP else reason(exc)
        raise StateError(f"the fingerprint key {path} cannot be read ({why})") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise StateError(f"the fingerprint key {path} is not a file; {_START_OVER}")
        _refuse_shared(info, path, "the fingerprint key", 0o600)
        data = file.read(4 * _KEY_LENGTH)
    text = data.decode("ascii", "replace").strip()
    if not text:
        raise StateError(f"the fingerprint key {path} is empty (a crash?); {_START_OVER}")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_LENGTH:
        raise StateError(
            f"the fingerprint key {path} is not a key (64 hex digits expected); {_START_OVER}"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_bytes(_KEY_LENGTH)
    fd, temp = tempfile.mkstemp(prefix=".fingerprint-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(key.hex() + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            found = _read_key_file(path)  # another run's key, made whole the same way
            if found is None:
                raise StateError(f"the fingerprint key {path} vanished while made") from None
            return found
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    fsync_directory(path.parent)
    return key
