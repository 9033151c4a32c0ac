"""The contract's request rules as pure functions: ids, domains, values, bodies, cursors.

Nothing here holds state or takes a lock. Each function either returns the parsed value or
raises :class:`~fakeserver.errors.BadRequest` with a message that names the rule, never the
rejected value when that value could be a secret. :mod:`fakeserver.backend.state` calls them in the
order the contract's section 8 gives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

from ..errors import BadRequest
from .keys import SEAL_OVERHEAD

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "INT64_MAX",
    "MAX_PAGE_SIZE",
    "MAX_SECRETS",
    "MAX_VALUE_CHARS",
    "check_credential_text",
    "decode_secret",
    "make_cursor",
    "missing_secret",
    "normalize_domain",
    "parse_page_size",
    "parse_universe_id",
    "read_cursor",
    "read_fields",
    "safe_key_id",
    "valid_secret_id",
    "validate_value",
]

MAX_SECRETS = 500
MAX_VALUE_CHARS = 1024
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 500
INT64_MAX = 2**63 - 1
# A value of 1,024 code points is at most 4,096 UTF-8 bytes; anything longer cannot be valid.
_MAX_CIPHERTEXT = MAX_VALUE_CHARS * 4 + SEAL_OVERHEAD

_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_KEY_ID_RE = re.compile(r"[0-9]{1,20}")
_FIELD_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_FIELDS = frozenset(("id", "secret", "key_id", "domain", "create_time", "update_time"))
_BASE64_RULE = "'secret' must be standard base64 with padding"
_PAGE_SIZE_RULE = f"limit must be an integer from 1 to {MAX_PAGE_SIZE}"


def parse_universe_id(text: str) -> int:
    """Parse a universe id from a path segment (a positive int64 in decimal).

    Raises
    ------
    BadRequest
        If it is not a plain decimal int64.
    """
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        raise BadRequest("universeId must be a decimal integer")
    value = int(text)
    if value > INT64_MAX:
        raise BadRequest("universeId must be a 64-bit integer")
    return value


def valid_secret_id(secret_id: object) -> bool:
    """Whether ``secret_id`` is a valid secret name (``^[A-Za-z_][A-Za-z0-9_]{0,63}$``)."""
    return isinstance(secret_id, str) and _ID_RE.fullmatch(secret_id) is not None


def missing_secret(secret_id: str) -> str:
    """The 404 detail for a secret that does not exist."""
    # Echo the id only when it is a valid name: a malformed path segment could be anything.
    if valid_secret_id(secret_id):
        return f"secret '{secret_id}' does not exist"
    return "secret does not exist"


def normalize_domain(domain: str) -> str | None:
    """Validate a domain and fold it to lower case; ``""`` becomes ``None`` (private).

    Accepted: ``*``, a host name (labels of ``a-z0-9-`` of 1-63 characters, not starting or
    ending with a hyphen, 253 characters at most, no trailing dot), optionally prefixed by
    ``*.``. No scheme, port, path or user.

    Raises
    ------
    BadRequest
        If the domain has any other form.
    """
    if domain == "":
        return None
    if domain == "*":
        return domain
    # Fold ASCII only: str.lower() maps some non-ASCII letters (the Kelvin sign) onto ASCII.
    if not domain.isascii():
        raise BadRequest("domain must be '*', a host name, or '*.' followed by a host name")
    folded = domain.lower()
    host = folded.removeprefix("*.")
    if len(host) > 253 or _HOST_RE.fullmatch(host) is None:
        raise BadRequest(
            "domain must be '*', a host name like 'api.example.com', or '*.example.com' "
            "(no scheme, port or path)"
        )
    return folded


def validate_value(value: str) -> None:
    """Check a plaintext value: 1 to 1,024 code points.

    Raises
    ------
    BadRequest
        If it is empty or too long.
    """
    if not value:
        raise BadRequest("secret value must not be empty")
    if len(value) > MAX_VALUE_CHARS:
        raise BadRequest(f"secret value is longer than {MAX_VALUE_CHARS} characters")


def safe_key_id(key_id: object) -> str | None:
    """The key id if it has the shape of one (safe to log), else ``None``."""
    if isinstance(key_id, str) and _KEY_ID_RE.fullmatch(key_id):
        return key_id
    return None


def read_fields(body: dict[str, Any]) -> dict[str, str | None]:
    """Check a request body's fields: known names and string-or-null types.

    Returns every known field, ``None`` when absent or null (null means absent). Client-sent
    ``create_time``/``update_time`` are accepted and ignored.

    Raises
    ------
    BadRequest
        For an unknown field or a value that is neither a string nor null.
    """
    fields: dict[str, str | None] = dict.fromkeys(_FIELDS)
    for name, value in body.items():
        if name not in _FIELDS:
            if _FIELD_NAME_RE.fullmatch(name):
                raise BadRequest(f"unknown field '{name}'; allowed: id, secret, key_id, domain")
            raise BadRequest("unknown field in request body; allowed: id, secret, key_id, domain")
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a JSON string")
        fields[name] = value
    return fields


def decode_secret(text: str) -> bytes:
    """Decode the ``secret`` field: standard, padded, canonical base64 of a sealed box.

    Raises
    ------
    BadRequest
        If it is not such base64, or decodes to a box too short or too long to hold a value.
    """
    if not text.isascii():
        raise BadRequest(_BASE64_RULE)
    raw = text.encode("ascii")
    try:
        data = binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise BadRequest(_BASE64_RULE) from None
    if binascii.b2a_base64(data, newline=False) != raw:
        raise BadRequest(_BASE64_RULE)
    if len(data) <= SEAL_OVERHEAD:
        raise BadRequest("'secret' is too short to be a sealed box of a non-empty value")
    if len(data) > _MAX_CIPHERTEXT:
        raise BadRequest(f"secret value is longer than {MAX_VALUE_CHARS} characters")
    return data


def parse_page_size(limit: str | None, max_page_size: str | None) -> int:
    """The page size a list request asks for; ``limit`` wins when both are sent (section 8).

    Raises
    ------
    BadRequest
        If the size is not an integer from 1 to :data:`MAX_PAGE_SIZE`.
    """
    text = limit if limit is not None else max_page_size
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not (0 < len(text) <= 6 and text.isascii() and text.isdigit()):
        raise BadRequest(_PAGE_SIZE_RULE)
    size = int(text)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(_PAGE_SIZE_RULE)
    return size


def make_cursor(key: bytes, universe_id: int, direction: str, bound: str) -> str:
    """An opaque list cursor, signed with ``key`` for ``universe_id``.

    ``direction`` ``"N"`` lists ids from ``bound`` onwards; ``"P"`` the page ending at it.
    """
    payload = f"{direction}{bound}"
    encoded = base64.urlsafe_b64encode(payload.encode("ascii")).rstrip(b"=").decode("ascii")
    return f"{encoded}.{_signature(key, universe_id, payload)}"


def read_cursor(key: bytes, universe_id: int, cursor: str) -> tuple[str, str]:
    """Check and decode a cursor :func:`make_cursor` issued; return ``(direction, bound)``.

    Raises
    ------
    BadRequest
        If the cursor was not signed with ``key`` for ``universe_id``.
    """
    encoded, _, signature = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("ascii")
    except (ValueError, UnicodeError):
        payload = ""
    expected = ""
    if payload[:1] in ("N", "P") and valid_secret_id(payload[1:]):
        expected = _signature(key, universe_id, payload)
    given = signature.encode("utf-8", "replace")
    if not expected or not hmac.compare_digest(expected.encode("ascii"), given):
        raise BadRequest("cursor is not one this server issued for this universe")
    return payload[0], payload[1:]


def _signature(key: bytes, universe_id: int, payload: str) -> str:
    """The truncated HMAC that binds a cursor payload to its universe."""
    mac = hmac.new(key, f"{universe_id}:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:12]).decode("ascii")


def check_credential_text(text: str, what: str) -> None:
    """Check a credential a test supplies: it becomes a header value, so it must be sendable.

    Raises
    ------
    ValueError
        If it is empty, not printable ASCII, or has surrounding spaces (never quoting it).
    """
    if not text or not text.isascii() or not text.isprintable() or text != text.strip():
        raise ValueError(f"{what} must be non-empty printable ASCII without surrounding spaces")
