"""seal(): sealed boxes that the private key opens, in the wire format Roblox wants."""

from __future__ import annotations

import base64
import re

import pytest
from nacl.public import PrivateKey, SealedBox

from rbxsecrets_magic.errors import InvalidInputError
from rbxsecrets_magic.opencloud.crypto import SEAL_OVERHEAD, seal


@pytest.fixture
def keypair() -> tuple[PrivateKey, str]:
    private = PrivateKey.generate()
    return private, base64.b64encode(bytes(private.public_key)).decode()


def _open(private: PrivateKey, sealed: str) -> bytes:
    return SealedBox(private).decrypt(base64.b64decode(sealed, validate=True))


@pytest.mark.parametrize("value", ["s3cret", "héllo wörld ✓ 🔑", "x" * 1024, "a"])
def test_str_values_are_sealed_as_utf8(keypair: tuple[PrivateKey, str], value: str) -> None:
    private, public = keypair
    assert _open(private, seal(value, public)) == value.encode("utf-8")


def test_bytes_are_sealed_as_given(keypair: tuple[PrivateKey, str]) -> None:
    private, public = keypair
    assert _open(private, seal(b"\x00\xffraw", public)) == b"\x00\xffraw"


def test_output_is_standard_padded_base64_48_bytes_longer(keypair: tuple[PrivateKey, str]) -> None:
    _, public = keypair
    sealed = seal("abcd", public)
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", sealed) and len(sealed) % 4 == 0
    assert len(base64.b64decode(sealed)) == 4 + SEAL_OVERHEAD


def test_every_call_differs_but_opens_to_the_same_value(keypair: tuple[PrivateKey, str]) -> None:
    private, public = keypair
    first, second = seal("same", public), seal("same", public)
    assert first != second
    assert _open(private, first) == _open(private, second) == b"same"


@pytest.mark.parametrize(
    ("key", "rule"),
    [("not base64!", "not standard base64"), (base64.b64encode(b"short").decode(), "32 bytes")],
)
def test_bad_public_key_is_invalid_input(key: str, rule: str) -> None:
    with pytest.raises(InvalidInputError, match=rule) as info:
        seal("topsecretvalue", key)
    assert "topsecretvalue" not in str(info.value)


def test_lone_surrogate_is_refused_without_the_value(keypair: tuple[PrivateKey, str]) -> None:
    with pytest.raises(InvalidInputError, match="lone surrogate") as info:
        seal("secret\ud800value", keypair[1])
    assert "secret" not in str(info.value)
    # The UnicodeEncodeError would hold the whole value: it must not be chained at all.
    assert info.value.__cause__ is None and info.value.__context__ is None
