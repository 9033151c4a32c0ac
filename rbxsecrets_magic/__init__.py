"""IPython magics for the Roblox Open Cloud secrets store.

Load the extension in IPython or Jupyter with ``%load_ext rbxsecrets_magic``. The client is
usable from plain Python too::

    from rbxsecrets_magic import SecretsClient
    SecretsClient(6930499524).set("stripe_key", value, domain="*.stripe.com")

``__all__`` is the public API; the submodules are internal and may change.

Importing this package is cheap: ``requests``, ``nacl`` and IPython are imported only when
the names that need them are first used, so loading the extension adds nothing noticeable to
IPython's start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InvalidInputError",
    "NotFoundError",
    "Pacer",
    "PermissionDeniedError",
    "PublicKey",
    "RateLimitedError",
    "RbxSecretsError",
    "SecretInfo",
    "SecretsClient",
    "ServerError",
    "SetResult",
    "TransportError",
    "UnexpectedAnswerError",
    "WaitTooLongError",
    "__version__",
    "load_ipython_extension",
    "seal",
]

# Where each lazily exported name lives; see __getattr__.
_LAZY = {
    "Pacer": "opencloud.pacing",
    "PublicKey": "opencloud.client",
    "SecretInfo": "opencloud.client",
    "SecretsClient": "opencloud.client",
    "SetResult": "opencloud.client",
    "seal": "opencloud.crypto",
    **{
        name: "errors"
        for name in (
            "ApiError",
            "AuthenticationError",
            "BadRequestError",
            "ConflictError",
            "InvalidInputError",
            "NotFoundError",
            "PermissionDeniedError",
            "RateLimitedError",
            "RbxSecretsError",
            "ServerError",
            "TransportError",
            "UnexpectedAnswerError",
            "WaitTooLongError",
        )
    },
}

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .errors import (
        ApiError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        InvalidInputError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitedError,
        RbxSecretsError,
        ServerError,
        TransportError,
        UnexpectedAnswerError,
        WaitTooLongError,
    )
    from .opencloud.client import PublicKey, SecretInfo, SecretsClient, SetResult
    from .opencloud.crypto import seal
    from .opencloud.pacing import Pacer


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the ``%rbx_secret_*`` magics with ``ipython`` (called by ``%load_ext``)."""
    from .ipython.magics import RbxSecretsMagics

    ipython.register_magics(RbxSecretsMagics)
