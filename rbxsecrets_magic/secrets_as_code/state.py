"""What this tool last applied, so a plan can tell which values changed without reading them.

Roblox never returns a secret's value. After each write, :class:`StateStore` keeps for the
secret (per API host and universe): a keyed fingerprint of the value (HMAC-SHA256 under a random
per-user key), the domain, the ``key_id`` and the ``update_time`` Roblox answered with. A later
plan calls a secret unchanged only if all four still match.

The state never holds a value or an unkeyed hash of one: without the key, a fingerprint cannot
be checked against guesses. The fingerprint also covers the API host, universe and secret id, so
the file does not even show which secrets share a value. Both files live in the user's state
directory (``$RBX_SECRETS_STATE_DIR``, else ``$XDG_STATE_HOME/rbxsecrets-magic``, else
``~/.local/state/rbxsecrets-magic``), are written atomically (temporary file, then
``os.replace``, then fsync) with mode 0600, and a record is written after every successful
write, so a run interrupted half way keeps what it finished. A missing, unreadable, malformed or
foreign state simply verifies nothing.

Like ssh with ``~/.ssh``, a state folder or key that anyone else can read or write is refused
(the key sits beside the fingerprints: together they let short values be guessed offline): the
state then verifies nothing and cannot be saved, and the one-line reason says which ``chmod``
fixes it. Two writes answered with the same ``update_time`` cannot be told apart, so when their
records meet, the secret is recorded as not verifiable rather than vouched for.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .fingerprint_key import (
    ENV_STATE_DIR,
    StateError,
    fsync_directory,
    load_fingerprint_key,
    make_private_directory,
    reason,
)

__all__ = [
    "ENV_STATE_DIR",
    "Applied",
    "StateError",
    "StateStore",
    "default_state_dir",
    "load_fingerprint_key",
]

logger = logging.getLogger(__name__)

_APP = "rbxsecrets-magic"
_STATE_FILE = "applied.json"
_LOCK_FILE = "applied.lock"
_VERSION = 1
# Stored next to the records: a state written under another key verifies nothing.
_KEY_CHECK = b"rbxsecrets-magic state key check"


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the state lives.

    ``$RBX_SECRETS_STATE_DIR``, else ``$XDG_STATE_HOME/rbxsecrets-magic``, else
    ``~/.local/state/rbxsecrets-magic``.
    """
    env = os.environ if environ is None else environ
    override = env.get(ENV_STATE_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    xdg = env.get("XDG_STATE_HOME", "").strip()
    base = (
        Path(xdg).expanduser()
        if xdg and Path(xdg).is_absolute()
        else (Path.home() / ".local" / "state")
    )
    return base / _APP


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _stamp(text: object) -> datetime | None:
    """A stored ``update_time`` as an aware datetime, or None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Applied:
    """What was applied to one secret: fingerprint, domain, key id and update time."""

    fingerprint: str
    domain: str | None
    key_id: str | None
    update_time: str | None

    def to_json(self) -> dict[str, str | None]:
        """The record as stored."""
        return {
            "fingerprint": self.fingerprint,
            "domain": self.domain,
            "key_id": self.key_id,
            "update_time": self.update_time,
        }

    @classmethod
    def from_json(cls, data: object) -> Applied | None:
        """Read a stored record; None if it is malformed."""
        if not isinstance(data, Mapping):
            return None
        fingerprint = data.get("fingerprint")
        rest = [data.get(k) for k in ("domain", "key_id", "update_time")]
        if not isinstance(fingerprint, str):
            return None
        domain, key_id, update_time = (r if isinstance(r, str) else None for r in rest)
        if any(r is not None and not isinstance(r, str) for r in rest):
            return None
        return cls(fingerprint, domain, key_id, update_time)

    def matches(self, domain: str | None, key_id: str | None, update_time: datetime | None) -> bool:
        """Whether the listed metadata is still what this tool left behind."""
        return (
            self.domain == domain
            and self.key_id == key_id
            and self.update_time is not None
            and self.update_time == _time(update_time)
        )


class StateStore:
    """The per-user record of applied secrets, keyed by API host, universe and secret id.

    Parameters
    ----------
    directory:
        Where the state and its key live; :func:`default_state_dir` by default.

    Attributes
    ----------
    problem:
        Why the stored state could not be used (it then verifies nothing), or None.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        """Read the state now; a problem is noted in :attr:`problem`, never raised."""
        self.directory = Path(directory) if directory is not None else default_state_dir()
        self.problem: str | None = None
        self._key: bytes | None = None
        self._records: dict[str, Any] = {}
        self._load()

    @property
    def path(self) -> Path:
        """The state file."""
        return self.directory / _STATE_FILE

    def __repr__(self) -> str:
        """Where the state lives; never the key."""
        return f"StateStore({str(self.directory)!r})"

    # ----------------------------------------------------------------------------- reading

    def _load(self) -> None:
        try:
            key = self._key_for(create=False)
        except StateError as exc:
            self.problem = str(exc)
            return
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.problem = f"the state file {self.path} cannot be read ({reason(exc)})"
            return
        records = self._parse(text, key)
        if records is not None:
            self._records = records

    def _parse(self, text: str, key: bytes | None) -> dict[str, Any] | None:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            self.problem = f"the state file {self.path} is not valid JSON"
            return None
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            self.problem = f"the state file {self.path} has an unknown format"
            return None
        if key is None or data.get("key_check") != _key_check(key):
            self.problem = f"the state file {self.path} was written under another fingerprint key"
            return None
        records = data.get("secrets")
        malformed = _shape_problem(records)
        if malformed is not None or not isinstance(records, dict):
            self.problem = (
                f"the state file {self.path} is malformed ({malformed}); it verifies nothing "
                "and the next write replaces it"
            )
            return None
        return records

    def _key_for(self, *, create: bool) -> bytes | None:
        if self._key is None:
            self._key = load_fingerprint_key(self.directory, create=create)
        return self._key

    def _writing_key(self) -> bytes:
        key = self._key_for(create=True)
        if key is None:  # load_fingerprint_key(create=True) makes one or raises
            raise StateError(f"no fingerprint key could be made in {self.directory}")
        return key

    def get(self, api: str, universe_id: int, secret_id: str) -> Applied | None:
        """The record of ``secret_id``, or None when nothing verifiable is stored."""
        by_universe = self._records.get(api)
        if not isinstance(by_universe, dict):
            return None
        by_secret = by_universe.get(str(universe_id))
        if not isinstance(by_secret, dict):
            return None
        return Applied.from_json(by_secret.get(secret_id))

    def verifies(
        self, record: Applied, api: str, universe_id: int, secret_id: str, value: str
    ) -> bool:
        """Whether ``value`` is the value ``record`` was made from."""
        key = self._key
        if key is None:
            return False
        expected = _fingerprint(key, api, universe_id, secret_id, value)
        return hmac.compare_digest(record.fingerprint, expected)

    # ----------------------------------------------------------------------------- writing

    def record(
        self,
        api: str,
        universe_id: int,
        secret_id: str,
        value: str,
        *,
        domain: str | None,
        key_id: str | None,
        update_time: datetime | None,
    ) -> None:
        """Remember that ``value`` was applied to the secret, with what Roblox answered.

        Another record of the same secret with the same ``update_time`` but another value
        or domain means two writes were answered in one tick and either may have won: the
        secret is then recorded as not verifiable. A record older than the one stored (by
        ``update_time``) leaves the stored one in place.

        Raises
        ------
        StateError
            When the state cannot be saved; the message names the path and the reason.
        """
        with self._saving():
            key = self._writing_key()
            applied = Applied(
                _fingerprint(key, api, universe_id, secret_id, value),
                domain,
                key_id,
                _time(update_time),
            )
            with self._locked():
                records = self._reload()
                by_secret = records.setdefault(api, {}).setdefault(str(universe_id), {})
                by_secret[secret_id] = _merged(by_secret.get(secret_id), applied)
                self._write(key, records)

    def forget(self, api: str, universe_id: int, secret_id: str) -> None:
        """Drop the record of a secret (deleted, or written with an unknown outcome).

        Raises
        ------
        StateError
            When the state cannot be saved; the message names the path and the reason.
        """
        if self.get(api, universe_id, secret_id) is None and not self.path.exists():
            return
        with self._saving():
            key = self._writing_key()
            with self._locked():
                records = self._reload()
                by_secret = records.get(api, {}).get(str(universe_id), {})
                if by_secret.pop(secret_id, None) is not None:
                    self._write(key, records)

    @contextlib.contextmanager
    def _saving(self) -> Iterator[None]:
        """Turn any OSError into a :class:`StateError` naming the folder and the reason."""
        try:
            yield
        except StateError:
            raise
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            raise StateError(
                f"the state in {self.directory} could not be saved: {reason(exc)}{where}"
            ) from exc

    def _reload(self) -> dict[str, Any]:
        """The records on disk now (another run may have added some), lock held."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return self._records
        saved_problem = self.problem
        records = self._parse(text, self._key)
        self.problem = saved_problem
        if records is not None:
            self._records = records
        return self._records

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the state, so two runs never lose each other's records."""
        make_private_directory(self.directory)
        # O_NOFOLLOW: a symlink planted where the lock goes must not make us create its target.
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.directory / _LOCK_FILE, flags, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # Windows: os.replace still keeps each write whole.
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _write(self, key: bytes, records: dict[str, Any]) -> None:
        """Write the state atomically and durably with mode 0600 (lock held)."""
        data = {"version": _VERSION, "key_check": _key_check(key), "secrets": records}
        fd, temp = tempfile.mkstemp(prefix=".applied-", suffix=".tmp", dir=self.directory)
        try:
            # mkstemp creates the file 0600 already; chmod guards against an odd umask/platform.
            os.chmod(temp, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=1, sort_keys=True)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        fsync_directory(self.directory)
        self.problem = None


# Stored in place of a record when two writes were answered with one update_time.
_SAME_TIME = "two writes were answered with the same update_time"


def _merged(old: object, new: Applied) -> dict[str, Any]:
    """What to store when ``new`` lands where ``old`` (a stored entry, or None) is."""
    if not isinstance(old, dict):
        return new.to_json()
    before, after = _stamp(old.get("update_time")), _stamp(new.update_time)
    if before is None or after is None or after > before:
        return new.to_json()
    if after < before:
        return old  # a newer write's record: it describes what the server holds
    if Applied.from_json(old) == new:
        return new.to_json()
    return {"update_time": new.update_time, "unverifiable": _SAME_TIME}


def _is_unverifiable(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("unverifiable"), str)
        and isinstance(entry.get("update_time"), str)
    )


def _shape_problem(records: object) -> str | None:
    """What is wrong with the shape of the stored records, or None if nothing is."""
    if not isinstance(records, dict):
        return "no table of secrets"
    for universes in records.values():
        if not isinstance(universes, dict):
            return "an API's universes are not a table"
        for by_secret in universes.values():
            if not isinstance(by_secret, dict):
                return "a universe's secrets are not a table"
            for entry in by_secret.values():
                if Applied.from_json(entry) is None and not _is_unverifiable(entry):
                    return "a secret's record is not one"
    return None


def _key_check(key: bytes) -> str:
    return hmac.new(key, _KEY_CHECK, hashlib.sha256).hexdigest()[:16]


def _fingerprint(key: bytes, api: str, universe_id: int, secret_id: str, value: str) -> str:
    # Length-prefixed fields: no two different tuples can produce the same message.
    parts = [api.encode(), str(universe_id).encode(), secret_id.encode(), value.encode("utf-8")]
    message = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    return hmac.new(key, message, hashlib.sha256).hexdigest()
