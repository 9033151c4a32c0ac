"""Sealing a secret's value for the Open Cloud secrets store.

Roblox accepts a value only as a libsodium sealed box (``crypto_box_seal``) made with the
universe's X25519 public key. :func:`seal` is a pure function: no I/O, no state, and a
different ciphertext on every call (tests decrypt and compare plaintexts, never ciphertexts).
"""

from __future__ import annotations

import base64
import binascii
import contextlib

from nacl.exceptions import CryptoError
from nacl.exceptions import TypeError as NaclTypeError
from nacl.public import PublicKey, SealedBox

from ..errors import InvalidInputError

__all__ = ["PUBLIC_KEY_BYTES", "SEAL_OVERHEAD", "is_stale", "seal"]

#: Length of an X25519 public key.
PUBLIC_KEY_BYTES = 32
#: Bytes a sealed box adds to its plaintext: an ephemeral public key (32) and a MAC (16).
SEAL_OVERHEAD = 48


def seal(value: str | bytes, public_key_b64: str) -> str:
    """Seal ``value`` for the universe whose public key is ``public_key_b64``.

    Parameters
    ----------
    value:
        The secret. ``str`` is encoded as UTF-8; ``bytes`` are sealed as given.
    public_key_b64:
        The ``secret`` field of the public-key response: standard base64 of 32 bytes.

    Returns
    -------
    str
        Standard, padded base64 of the sealed box, ready for the ``secret`` field.

    Raises
    ------
    InvalidInputError
        If ``value`` is a ``str`` that cannot be encoded as UTF-8 (a lone surrogate), or the
        public key is not base64 of 32 bytes. The message never contains the value.
    """
    if isinstance(value, str):
        # A UnicodeEncodeError holds the whole value in .object, so the error is raised
        # outside the except block: not even __context__ may keep it.
        encoded: bytes | None = None
        with contextlib.suppress(UnicodeEncodeError):
            encoded = value.encode("utf-8")
        if encoded is None:
            raise InvalidInputError(
                "Invalid value: it is not valid Unicode text (it contains a lone surrogate)."
            )
        plaintext = encoded
    elif isinstance(value, (bytes, bytearray, memoryview)):
        plaintext = bytes(value)
    else:
        raise InvalidInputError(
            f"Invalid value: expected str or bytes, got {type(value).__name__}."
        )
    try:
        key_bytes = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidInputError("Invalid public key: it is not standard base64.") from None
    if len(key_bytes) != PUBLIC_KEY_BYTES:
        raise InvalidInputError(
            f"Invalid public key: expected {PUBLIC_KEY_BYTES} bytes, got {len(key_bytes)}."
        )
    try:
        box = SealedBox(PublicKey(key_bytes))
        sealed = box.encrypt(plaintext)
    except (CryptoError, NaclTypeError):
        raise InvalidInputError("Invalid public key: libsodium refused it.") from None
    return base64.b64encode(sealed).decode("ascii")


def is_stale(key_id: str | None, current_key_id: str | None) -> bool:
    """The one stale rule: a secret sealed with a key that is no longer the universe's current one.

    Such a secret still works in game servers; setting it again reseals it with the current
    key. False when either key id is not known. Listings mark such secrets ``stale`` and plans
    give ``sealed with an old key`` as a reason to update.
    """
    return current_key_id is not None and key_id is not None and key_id != current_key_id
