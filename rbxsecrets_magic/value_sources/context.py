"""One run's resolution of value references: which resolver, and each lookup made once.

A :class:`ResolutionContext` lives for one run (a plan, an apply, one ``set``). It finds the
resolver for a scheme (the built-ins, then packages' entry points), caches what each resolver
fetched (:meth:`ResolutionContext.once`: one ``sops`` call per file, one AWS call per secret id,
failures included), and checks every value found against Roblox's rules, so that no resolver can
hand over a value that is empty or too long. Nothing resolved is written anywhere; the cache
dies with the context.
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable, Hashable, Mapping
from importlib import import_module
from pathlib import Path
from typing import Protocol, TypeVar

from ..errors import (
    InvalidInputError,
    UnknownSchemeError,
    ValueReferenceError,
    ValueTooLongError,
)
from ..opencloud.validation import MAX_VALUE_CHARS, validate_value
from ..values import SecretValue
from .reference import Reference, parse_reference

__all__ = [
    "BUILTIN_SCHEMES",
    "ENTRY_POINT_GROUP",
    "ResolutionContext",
    "ValueResolver",
    "wipe_in_place",
]

#: The entry-point group through which another package adds a scheme.
ENTRY_POINT_GROUP = "rbxsecrets_magic.value_sources"

#: The schemes this package resolves itself, and where their resolvers are (imported on use).
BUILTIN_SCHEMES: Mapping[str, str] = {
    "aws-sm": "rbxsecrets_magic.value_sources.aws:resolve",
    "env": "rbxsecrets_magic.value_sources.local:resolve_env",
    "file": "rbxsecrets_magic.value_sources.local:resolve_file",
    "keyring": "rbxsecrets_magic.value_sources.keyring_entries:resolve",
    "sops": "rbxsecrets_magic.value_sources.sops:resolve",
}

T = TypeVar("T")


class ValueResolver(Protocol):
    """Resolves the references of one scheme: gets the reference, returns the value.

    A resolver raises :class:`~rbxsecrets_magic.errors.ValueReferenceError` (or a subclass)
    saying why a reference does not resolve, never quoting the value; any other exception is
    reported by its type alone. Work worth doing once per run (decrypting a file, a network
    call) goes through ``context.once``.
    """

    def __call__(self, reference: Reference, context: ResolutionContext) -> str:
        """Return the value ``reference`` names."""
        ...


class _Failure:
    """A cached failure: raised again, as a fresh error, whenever its key is asked for."""

    __slots__ = ("error",)

    def __init__(self, error: ValueReferenceError) -> None:
        self.error = error


class ResolutionContext:
    """Resolves references for one run, each fetch made at most once.

    Parameters
    ----------
    base_dir:
        Where relative paths (``file:``, ``sops:``) start: the manifest's folder, else the
        working directory.
    environ:
        The environment ``env:`` reads and child programs (``sops``) get; ``os.environ`` by
        default.
    resolvers:
        Extra or replacing resolvers by scheme (tests, embedding); they win over the built-ins
        and the entry points.
    """

    def __init__(
        self,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        resolvers: Mapping[str, ValueResolver] | None = None,
    ) -> None:
        """Start with an empty cache."""
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._given = {scheme.lower(): r for scheme, r in (resolvers or {}).items()}
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._cache: dict[Hashable, object] = {}
        self._resolvers: dict[str, ValueResolver] = {}
        self._plugins: dict[str, str] | None = None

    def __repr__(self) -> str:
        """Where relative paths start; never anything resolved."""
        return f"ResolutionContext(base_dir={str(self.base_dir)!r})"

    def __enter__(self) -> ResolutionContext:
        """Use the context for one run; :meth:`close` at its end."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """End the run: :meth:`close`."""
        self.close()

    def close(self) -> None:
        """Forget everything fetched, and wipe what can be wiped in place.

        A decrypted file or a fetched secret is emptied where it lies, so that a traceback
        kept after a failed run (``sys.last_traceback``, ``%debug``) that still reaches it
        finds nothing. Values already handed out as :class:`SecretValue` stay usable.
        """
        with self._lock:
            cached = list(self._cache.values())
            self._cache.clear()
        for found in cached:
            wipe_in_place(found)

    # ------------------------------------------------------------------------------ resolving

    def resolve(self, reference: str | Reference) -> SecretValue:
        """The value ``reference`` names, checked against Roblox's rules.

        Resolving the same reference twice in a run fetches once.

        Raises
        ------
        ValueReferenceError
            Or a subclass: not a reference, unknown scheme, not found, too long, ...; the
            message names the reference (unless it may be a value) and why.
        """
        ref = reference if isinstance(reference, Reference) else parse_reference(reference)
        try:
            resolver = self.resolver(ref.scheme)
        except UnknownSchemeError:
            raise
        except ValueReferenceError as exc:
            error = ValueReferenceError(ref.text, exc.reason, scheme=ref.scheme)
        else:
            return self.once(("reference", ref.text), lambda: self._call(resolver, ref))
        raise error

    def _call(self, resolver: ValueResolver, ref: Reference) -> SecretValue:
        try:
            value: object = resolver(ref, self)
        except ValueReferenceError:
            raise
        except Exception as exc:
            # A third-party resolver's message may quote the value: its type alone is shown.
            error = ValueReferenceError(
                ref.text,
                f"the resolver for {ref.scheme}: failed ({type(exc).__name__})",
                scheme=ref.scheme,
            )
        else:
            return _checked(value, ref)
        # Raised outside the except block: not even __context__ may keep the plugin's text.
        raise error

    def once(self, key: Hashable, fetch: Callable[[], T]) -> T:
        """``fetch()``'s result for ``key``, fetched at most once in this context.

        A :class:`~rbxsecrets_magic.errors.ValueReferenceError` from ``fetch`` is remembered
        too and raised again for the same key: a file that cannot be decrypted is tried once
        per run. Concurrent callers with one key wait for the one fetch.
        """
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key in self._cache:
                found = self._cache[key]
            else:
                try:
                    found = fetch()
                except ValueReferenceError as exc:
                    found = _Failure(exc)
                self._cache[key] = found
        if isinstance(found, _Failure):
            raise _fresh(found.error)
        return found  # type: ignore[return-value]

    def path(self, text: str) -> Path:
        """``text`` as a path: ``~`` expanded, relative ones under :attr:`base_dir`."""
        path = Path(text).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path

    # ----------------------------------------------------------------------------- resolvers

    def known_schemes(self) -> tuple[str, ...]:
        """Every scheme that resolves here, sorted: given, built-in and from entry points."""
        return tuple(sorted({*self._given, *BUILTIN_SCHEMES, *self._entry_points()}))

    def resolver(self, scheme: str) -> ValueResolver:
        """The resolver for ``scheme``: given ones, then built-ins, then entry points.

        A package cannot replace a built-in scheme: ``env:`` means the same everywhere.

        Raises
        ------
        UnknownSchemeError
            No resolver for ``scheme``; names the known ones and the entry-point group.
        ValueReferenceError
            The package that declares the scheme failed to load.
        """
        scheme = scheme.lower()
        if scheme in self._given:
            return self._given[scheme]
        with self._lock:
            if scheme in self._resolvers:
                return self._resolvers[scheme]
        target = BUILTIN_SCHEMES.get(scheme) or self._entry_points().get(scheme)
        if target is None:
            raise self._unknown(scheme)
        loaded = _load(target, scheme)
        with self._lock:
            self._resolvers[scheme] = loaded
        return loaded

    def _entry_points(self) -> dict[str, str]:
        if self._plugins is None:
            from importlib.metadata import entry_points

            found: dict[str, str] = {}
            for point in entry_points(group=ENTRY_POINT_GROUP):
                name = point.name.lower()
                if name not in BUILTIN_SCHEMES:
                    found.setdefault(name, point.value)
            self._plugins = found
        return self._plugins

    def _unknown(self, scheme: str) -> UnknownSchemeError:
        known = self.known_schemes()
        # The scheme typed is not repeated (the text may be a value); a close known one is.
        close = difflib.get_close_matches(scheme, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}:? " if close else ""
        return UnknownSchemeError(
            f"the reference's scheme is not one this installation resolves; {hint}known schemes: "
            f"{', '.join(s + ':' for s in known)}; a package adds one through the entry-point "
            f"group {ENTRY_POINT_GROUP}",
            known=known,
            group=ENTRY_POINT_GROUP,
        )


def _load(target: str, scheme: str) -> ValueResolver:
    module_name, _, attribute = target.partition(":")
    problem = None
    try:
        loaded: object = import_module(module_name)
        for part in attribute.split(".") if attribute else ():
            loaded = getattr(loaded, part)
    except Exception as exc:
        problem = f"{type(exc).__name__} importing {target}"
    else:
        if callable(loaded):
            return loaded
        problem = f"{target} is not callable"
    raise ValueReferenceError(
        None, f"the resolver for {scheme}: could not be loaded ({problem})", scheme=scheme
    )


def _checked(value: object, ref: Reference) -> SecretValue:
    """``value`` as a :class:`SecretValue` if Roblox would take it; never quoted otherwise."""
    if isinstance(value, SecretValue):
        value = value.reveal()
    if not isinstance(value, str):
        raise ValueReferenceError(
            ref.text,
            f"the resolver returned {type(value).__name__}, not a string",
            scheme=ref.scheme,
        )
    if len(value) > MAX_VALUE_CHARS:
        raise ValueTooLongError(
            ref.text, scheme=ref.scheme, length=len(value), limit=MAX_VALUE_CHARS
        )
    problem = None
    try:
        validate_value(value)
    except InvalidInputError as exc:
        problem = str(exc).removeprefix("Invalid value: ").rstrip(".")
    if problem is not None:
        raise ValueReferenceError(ref.text, problem, scheme=ref.scheme)
    return SecretValue(value)


def wipe_in_place(found: object) -> None:
    """Empty ``found`` where it lies: its ``wipe()``, or dicts and lists, nested ones too."""
    wipe = getattr(found, "wipe", None)
    if callable(wipe):
        wipe()
    elif isinstance(found, dict):
        for value in found.values():
            wipe_in_place(value)
        found.clear()
    elif isinstance(found, list):
        for value in found:
            wipe_in_place(value)
        found.clear()


def _fresh(error: ValueReferenceError) -> ValueReferenceError:
    """A copy of a cached error, so each raise gets its own traceback."""
    import copy

    return copy.copy(error)
