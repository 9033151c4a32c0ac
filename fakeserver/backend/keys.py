"""X25519 keypairs, key ids, and opening sealed boxes.

Every universe of the fake holds a real keypair: the public half is what the API hands out, the
private half opens the ``crypto_box_seal`` boxes that clients send. Nothing here touches HTTP or
the fake's state.
"""

from __future__ import annotations

import base64
import secrets

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from ..errors import UnsealError

__all__ = ["SEAL_OVERHEAD", "KeyPair", "UnsealError", "new_key_id"]

# crypto_box_seal adds an ephemeral public key (32 bytes) and a MAC (16 bytes).
SEAL_OVERHEAD = 48


def new_key_id(taken: set[str] | frozenset[str] = frozenset()) -> str:
    """Return a fresh key id: a decimal number written as a string, not in ``taken``.

    Ten digits and no leading zero, so it looks like the ids the real service hands out.
    """
    while True:
        key_id = str(secrets.randbelow(9 * 10**9) + 10**9)
        if key_id not in taken:
            return key_id


class KeyPair:
    """One universe key: an X25519 keypair and its key id.

    Parameters
    ----------
    key_id:
        The decimal-string id clients send back with every sealed value.
    private_key:
        The private key; generated when omitted.
    """

    __slots__ = ("_box", "key_id", "public_key")

    def __init__(self, key_id: str, private_key: PrivateKey | None = None) -> None:
        """Wrap (or generate) the keypair for ``key_id``."""
        private = private_key if private_key is not None else PrivateKey.generate()
        self.key_id = key_id
        self.public_key: str = base64.b64encode(bytes(private.public_key)).decode("ascii")
        self._box = SealedBox(private)

    def open(self, ciphertext: bytes) -> bytes:
        """Open a sealed box and return the plaintext bytes.

        Raises
        ------
        UnsealError
            If the box does not open with this key. The error carries no data.
        """
        if len(ciphertext) < SEAL_OVERHEAD:
            raise UnsealError("ciphertext is shorter than a sealed box")
        try:
            return self._box.decrypt(ciphertext)
        except CryptoError:
            raise UnsealError("sealed box does not open with this key") from None

    def __repr__(self) -> str:
        """Show the key id and public key only."""
        return f"KeyPair(key_id={self.key_id!r}, public_key={self.public_key!r})"
