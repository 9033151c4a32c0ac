"""HTTP/1.1 on the wire for the loopback server: read one request, encode one answer.

Pure functions over a buffered reader, with no socket or thread of their own, so each rule of
RFC 9112 the server keeps is one small function: the request line (:func:`parse_request_line`),
the header fields (:func:`read_head`), the body by ``Content-Length`` or chunks
(:func:`read_body`), and the answer's head (:func:`encode_answer`). Input the server does not
accept raises :class:`~fakeserver.errors.UnreadableRequest` with the status to answer; a client
that closes its half mid-request raises ``OSError``, as the socket itself would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import BinaryIO

from ..errors import UnreadableRequest
from .wsgi import TOKEN

__all__ = [
    "CONTINUE",
    "MAX_BODY",
    "MAX_HEADERS",
    "MAX_LINE",
    "RequestHead",
    "encode_answer",
    "parse_request_line",
    "plain_answer",
    "read_body",
    "read_head",
    "read_request_line",
]

MAX_LINE = 65536
MAX_HEADERS = 100
MAX_BODY = 1024 * 1024
#: The interim answer to ``Expect: 100-continue``.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# RFC 9112 section 2.2: empty lines before a request line are ignored (up to this many).
_LEADING_BLANK_LINES = 8

_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
# RFC 9112 section 7.1: chunk-size [ BWS ";" chunk-ext ] CRLF; hex digits only. A bare LF is
# taken as the line end, as it is elsewhere in the request.
_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)(?:[ \t]*;[^\r\n]*)?\r?\n")
_BAD_VALUE = re.compile(r"[\x00\r\n]")
_LINE_ENDS = (b"\r\n", b"\n")
# A WSGI app must not set these: they describe the connection, which the server owns.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "upgrade",
        "proxy-connection",
        "te",
        "trailer",
    }
)


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request line and its header fields, checked, with what they say about the body."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    #: The body's length by ``Content-Length`` (0 without one, or when ``chunked``).
    length: int
    chunked: bool
    expect_continue: bool
    keep_alive: bool

    @property
    def wants_continue(self) -> bool:
        """Whether the client waits for ``100 Continue`` before it sends the body."""
        return (
            self.expect_continue
            and self.version == "HTTP/1.1"
            and bool(self.length or self.chunked)
        )


class _Framing:
    """What the header fields say about the body and the connection, checked as each arrives.

    Checked one field at a time, in the order they came, so the first rule a request breaks is
    the one answered.
    """

    __slots__ = ("chunked", "connection", "expect_continue", "length")

    def __init__(self) -> None:
        """Start as a request without any of the fields that matter here."""
        self.length: str | None = None
        self.chunked = False
        self.expect_continue = False
        self.connection = ""

    def see(self, name: str, value: str) -> None:
        """Take one field into account; raise ``UnreadableRequest`` if it contradicts one."""
        lowered = name.lower()
        if lowered == "content-length":
            if self.length is not None and self.length != value:
                raise UnreadableRequest(400, "conflicting Content-Length")
            self.length = value
        elif lowered == "transfer-encoding":
            if value.lower() != "chunked" or self.chunked:
                raise UnreadableRequest(400, "unsupported Transfer-Encoding")
            self.chunked = True
        elif lowered == "expect":
            self.expect_continue = value.lower() == "100-continue"
        elif lowered == "connection":
            self.connection = value.lower()

    def keep_alive(self, version: str) -> bool:
        """Whether the connection stays open after this request (by version and ``Connection``)."""
        if version == "HTTP/1.1":
            return "close" not in self.connection
        return "keep-alive" in self.connection

    def body_length(self) -> int:
        """The ``Content-Length`` as a number, checked against the framing rules and the cap."""
        if self.chunked and self.length is not None:
            raise UnreadableRequest(400, "both Content-Length and Transfer-Encoding")
        if self.length is None:
            return 0
        if not self.length.isdigit() or not self.length.isascii():
            raise UnreadableRequest(400, "malformed Content-Length")
        length = int(self.length)
        if length > MAX_BODY:
            raise UnreadableRequest(413, "request body too large")
        return length


def read_request_line(rfile: BinaryIO) -> bytes:
    """Read the request line, skipping a few empty lines before it; ``b""`` at end of input."""
    line = rfile.readline(MAX_LINE + 1)
    blank = 0
    while line in _LINE_ENDS and blank < _LEADING_BLANK_LINES:
        blank += 1
        line = rfile.readline(MAX_LINE + 1)
    return line


def parse_request_line(line: bytes) -> tuple[str, str, str]:
    """Split a request line into method, target and version, or raise ``UnreadableRequest``."""
    if len(line) > MAX_LINE:
        raise UnreadableRequest(414, "request line too long")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        raise UnreadableRequest(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise UnreadableRequest(400, "unsupported HTTP version")
    if not TOKEN.match(method):
        raise UnreadableRequest(400, "malformed method")
    if not target or not (target[0] == "/" or target.startswith(("http://", "https://"))):
        raise UnreadableRequest(400, "malformed request target")
    if _BAD_TARGET.search(target):
        raise UnreadableRequest(400, "malformed request target")
    return method, target, version


def _read_field(rfile: BinaryIO) -> tuple[str, str] | None:
    """Read one header field as ``(name, value)``; ``None`` at the empty line that ends them."""
    raw = rfile.readline(MAX_LINE + 1)
    if len(raw) > MAX_LINE:
        raise UnreadableRequest(431, "header line too long")
    if raw in _LINE_ENDS:
        return None
    if not raw:
        raise OSError("connection closed inside the headers")
    if raw[0] in b" \t":
        raise UnreadableRequest(400, "obsolete header folding")
    name, sep, value = raw.decode("latin-1").partition(":")
    if not sep or not TOKEN.match(name):
        raise UnreadableRequest(400, "malformed header")
    value = value.strip(" \t\r\n")
    if _BAD_VALUE.search(value):
        raise UnreadableRequest(400, "malformed header")
    return name, value


def read_head(line: bytes, rfile: BinaryIO) -> RequestHead:
    """Parse the request line ``line`` and read the header fields after it from ``rfile``."""
    method, target, version = parse_request_line(line)
    headers: list[tuple[str, str]] = []
    framing = _Framing()
    while (field := _read_field(rfile)) is not None:
        framing.see(*field)
        headers.append(field)
        if len(headers) > MAX_HEADERS:
            raise UnreadableRequest(431, "too many headers")
    return RequestHead(
        method=method,
        target=target,
        version=version,
        headers=headers,
        length=framing.body_length(),
        chunked=framing.chunked,
        expect_continue=framing.expect_continue,
        keep_alive=framing.keep_alive(version),
    )


def read_body(head: RequestHead, rfile: BinaryIO) -> bytes:
    """Read the body ``head`` announces: by chunks, by ``Content-Length``, or none."""
    if head.chunked:
        return _read_chunked(rfile)
    if not head.length:
        return b""
    body = rfile.read(head.length)
    if len(body) < head.length:
        raise OSError("connection closed inside the body")
    return body


def _read_chunked(rfile: BinaryIO) -> bytes:
    """Read a chunked body (RFC 9112 section 7.1), ignoring extensions and trailers."""
    chunks: list[bytes] = []
    total = 0
    while size := _chunk_size(rfile):
        total += size
        if total > MAX_BODY:
            raise UnreadableRequest(413, "request body too large")
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise OSError("connection closed inside a chunked body")
        chunks.append(chunk)
        if rfile.readline(3) not in _LINE_ENDS:
            raise UnreadableRequest(400, "malformed chunk")
    for _ in range(MAX_HEADERS):
        trailer = rfile.readline(MAX_LINE + 1)
        if trailer in (*_LINE_ENDS, b""):
            break
    return b"".join(chunks)


def _chunk_size(rfile: BinaryIO) -> int:
    """Read one chunk-size line and return the size (0 for the last chunk)."""
    size_line = rfile.readline(MAX_LINE + 1)
    if not size_line:
        raise OSError("connection closed inside a chunked body")
    # int(text, 16) would also take "0x2", "+2", "1_0" and surrounding whitespace.
    size_match = _CHUNK_SIZE_LINE.fullmatch(size_line)
    if size_match is None:
        raise UnreadableRequest(400, "malformed chunk size")
    return int(size_match[1], 16)


def encode_answer(
    head: RequestHead,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    date: str,
) -> bytes:
    """The bytes of the answer to ``head``: status line, the app's headers, framing, body.

    The app's hop-by-hop headers are dropped (the server frames the answer itself); a ``HEAD``
    answer keeps the app's ``Content-Length`` and sends no body, as do 1xx, 204 and 304.
    """
    code = int(status[:3])
    lines = [f"HTTP/1.1 {status}\r\n"]
    length: str | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-length":
            length = value
        if lowered not in _HOP_BY_HOP:
            lines.append(f"{name}: {value}\r\n")
    has_body = code >= 200 and code not in (204, 304)
    if has_body:
        if head.method != "HEAD" or length is None:
            length = str(len(body))
        lines.append(f"Content-Length: {length}\r\n")
    lines.append(f"Date: {date}\r\n")
    if not head.keep_alive:
        lines.append("Connection: close\r\n")
    elif head.version == "HTTP/1.0":
        lines.append("Connection: keep-alive\r\n")
    lines.append("\r\n")
    payload = "".join(lines).encode("latin-1")
    if has_body and head.method != "HEAD":
        payload += body
    return payload


def plain_answer(status: int, detail: str) -> bytes:
    """The answer to a request the server could not read: ``detail`` as text, then close."""
    body = (detail + "\n").encode("ascii")
    phrase = HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
