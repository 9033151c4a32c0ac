"""Issue 18, B9: a server that opens the sealed value cannot put it in a write's error.

The scrubber knows the forms an honest server might echo (raw, escaped, base64, hex...), but a
hostile one that decrypts can re-encode the value in forms nobody can list: spaced out,
fullwidth, base32, UTF-16 hex, reversed, in its reason phrase, in a redirect's host name, in a
status line that breaks the HTTP parser. So the server's own text is never shown for a request
that carried a value: the message says what the status means, in fixed words. The server here
is real (loopback, :mod:`tests.security.hostile`), holds the private key and really decrypts.
"""

from __future__ import annotations

import base64
import json
import socket
import unicodedata
from collections.abc import Callable

import pytest
from nacl.public import PrivateKey, SealedBox

from rbxsecrets_magic import RbxSecretsError, SecretsClient
from tests.rbxsecrets_magic.support import strings_reachable_from
from tests.security.hostile import HostileServer, read_request_and_body

VALUE = "Zq7-hunter2-S3CRET-value"
API_KEY = "hostile-test-key-0123456789"
PRIVATE = PrivateKey.generate()
KEY = {
    "id": "public-key",
    "secret": base64.b64encode(bytes(PRIVATE.public_key)).decode(),
    "key_id": "1",
}


def hostile_forms(value: str) -> dict[str, str]:
    """Re-encodings a scrubber that lists forms cannot know."""
    data = value.encode()
    return {
        "spaced": " ".join(value),
        "dotted": ".".join(value),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value),
        "base32": base64.b32encode(data).decode(),
        "base32-lower": base64.b32encode(data).decode().lower().rstrip("="),
        "utf16-be-hex": value.encode("utf-16-be").hex(),
        "utf16-le-hex": value.encode("utf-16-le").hex(),
        "reversed": value[::-1],
        "rot13": value.translate(
            str.maketrans(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
            )
        ),
    }


def carries(text: str, value: str) -> list[str]:
    """How ``text`` carries ``value`` (any 8 characters of it, in any form tried here)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    compact = "".join(ch for ch in folded if ch.isalnum())
    found = []
    for name, form in {"raw": value, **hostile_forms(value)}.items():
        squeezed = "".join(ch for ch in unicodedata.normalize("NFKC", form).lower() if ch.isalnum())
        pieces = {squeezed[i : i + 8] for i in range(len(squeezed) - 7)}
        if any(piece in compact for piece in pieces):
            found.append(name)
    return found


def _http(status: str, body: bytes = b"", headers: tuple[str, ...] = ()) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _json(status: str, data: object) -> bytes:
    return _http(status, json.dumps(data).encode(), ("Content-Type: application/json",))


# Each answer to the write, built from the value the server just decrypted.
ANSWERS: dict[str, Callable[[str], bytes]] = {}
for _name, _encode in hostile_forms(VALUE).items():
    ANSWERS[f"400 detail {_name}"] = lambda v, e=_encode, n=_name: _json(  # type: ignore[misc]
        "400 Bad Request", {"detail": f"invalid secret {hostile_forms(v)[n]}"}
    )
    ANSWERS[f"500 errors {_name}"] = lambda v, n=_name: _json(  # type: ignore[misc]
        "500 Internal Server Error", {"errors": [{"message": hostile_forms(v)[n]}]}
    )
    ANSWERS[f"409 text {_name}"] = lambda v, n=_name: _http(  # type: ignore[misc]
        "409 Conflict",
        f"exists: {hostile_forms(v)[n]}".encode(),
        ("Content-Type: text/plain; charset=utf-8",),
    )
ANSWERS["reason phrase"] = lambda v: _http(f"400 {hostile_forms(v)['spaced']}")
ANSWERS["redirect host"] = lambda v: _http(
    "307 Temporary Redirect",
    headers=(f"Location: https://{hostile_forms(v)['base32-lower']}.evil.test/",),
)
ANSWERS["broken status line"] = lambda v: (
    f"HTTP/1.1 4x0 {hostile_forms(v)['dotted']}\r\n\r\n".encode()
)
ANSWERS["field errors"] = lambda v: _json(
    "400 Bad Request", {"errors": {hostile_forms(v)["base32"]: [hostile_forms(v)["utf16-le-hex"]]}}
)


def decrypting(answer: Callable[[str], bytes]) -> Callable[[HostileServer, socket.socket], None]:
    """A server that hands out its key, opens every sealed value, and answers ``answer(value)``."""

    def script(server: HostileServer, conn: socket.socket) -> None:
        head, body = server.first_request[conn]
        while head and not server.expired():
            if head.startswith(b"GET"):
                server.send(conn, _json("200 OK", KEY))
            else:
                sealed = base64.b64decode(json.loads(body)["secret"])
                value = SealedBox(PRIVATE).decrypt(sealed).decode()
                assert value == VALUE  # it really holds the value
                server.send(conn, answer(value))
                return
            head, body = read_request_and_body(conn)

    return script


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_a_write_error_carries_no_form_of_the_value(case: str) -> None:
    with HostileServer(decrypting(ANSWERS[case]), limit=5.0) as server:
        client = SecretsClient(
            1, api_key=API_KEY, base_url=server.url, timeout=2.0, max_retries=0, rate_limit=None
        )
        with pytest.raises(RbxSecretsError) as caught:
            client.set("api_token", VALUE)
        client.close()
    text = "\n".join(strings_reachable_from(caught.value))
    assert carries(text, VALUE) == [], (case, str(caught.value))
    assert "\n" not in str(caught.value)


def test_the_detector_sees_every_form() -> None:
    """The check above can fail: each form, quoted, is found."""
    for name, form in hostile_forms(VALUE).items():
        assert carries(f"HTTP 400: invalid secret {form}.", VALUE), name


def test_a_write_error_still_says_what_the_status_means() -> None:
    answer = ANSWERS["400 detail spaced"]
    with HostileServer(decrypting(answer), limit=5.0) as server:
        client = SecretsClient(
            1, api_key=API_KEY, base_url=server.url, timeout=2.0, max_retries=0, rate_limit=None
        )
        with pytest.raises(RbxSecretsError) as caught:
            client.set("api_token", VALUE)
        client.close()
    message = str(caught.value)
    assert "HTTP 400" in message
    assert "not shown" in message  # says why the server's words are missing
