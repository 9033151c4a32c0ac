"""``keyring:SERVICE/USERNAME``: a value from the system keyring, through ``keyring``.

The text up to the first ``/`` is the service, the rest the user name (which may hold more
``/``, as our own logins' base URLs do). Needs the ``keyring`` extra.
"""

from __future__ import annotations

from ..errors import KeyringEntryError, KeyringUnavailableError
from .context import ResolutionContext
from .reference import Reference

__all__ = ["resolve"]


def resolve(reference: Reference, context: ResolutionContext) -> str:
    """The password stored for ``SERVICE`` and ``USERNAME``.

    Raises
    ------
    KeyringEntryError
        No such entry, or no usable keyring here.
    """
    from ..credentials import system_keyring

    service, slash, username = reference.body.partition("/")

    def fail(reason: str) -> KeyringEntryError:
        return KeyringEntryError(reference.text, reason, service=service, username=username)

    if not slash or not service or not username:
        raise fail("write keyring:SERVICE/USERNAME")
    problem = None
    try:
        found = context.once(
            ("keyring", service, username),
            lambda: system_keyring.get_password(service, username),
        )
    except KeyringUnavailableError as exc:
        problem = f"{exc.reason}; use another source here (env:, file:, sops:)"
    if problem is not None:
        raise fail(problem)
    if found is None:
        raise fail(f"the system keyring has no entry for service {service} and user {username}")
    return found
