"""Checks run before any request, each naming the rule that failed.

The rules are the contract's (``secrets-api.md`` sections 2, 3 and 8). Messages never repeat a
value, and never repeat an invalid secret id either: a string that fails the id rules may well
be a value typed in the wrong place. This module imports only the standard library, so the
magics can validate input without importing ``requests``.
"""

from __future__ import annotations

import re

from ..errors import InvalidInputError

__all__ = [
    "MAX_VALUE_CHARS",
    "validate_bleed_off_minutes",
    "validate_domain",
    "validate_place_ids",
    "validate_secret_id",
    "validate_universe_id",
    "validate_value",
]

MAX_ID_CHARS = 64
MAX_VALUE_CHARS = 1024
MAX_DOMAIN_CHARS = 253
_INT64_MAX = 2**63 - 1

_ID_CHARS = re.compile(r"[A-Za-z0-9_]*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def validate_secret_id(secret_id: object) -> str:
    """Return ``secret_id`` if it is a valid secret name, else raise.

    Rule: 1-64 ASCII letters, digits or underscores, not starting with a digit.

    Raises
    ------
    InvalidInputError
        Naming the rule that failed (without repeating the id).
    """
    if not isinstance(secret_id, str):
        raise InvalidInputError(
            f"Invalid secret id: expected a string, got {type(secret_id).__name__}."
        )
    rule = "use 1-64 ASCII letters, digits and underscores, not starting with a digit"
    if not secret_id:
        raise InvalidInputError(f"Invalid secret id: it is empty; {rule}.")
    if len(secret_id) > MAX_ID_CHARS:
        raise InvalidInputError(
            f"Invalid secret id: it is {len(secret_id)} characters long, over the limit of "
            f"{MAX_ID_CHARS}; {rule}."
        )
    bad = _ID_CHARS.fullmatch(secret_id) is None
    if bad:
        position = next(i for i, ch in enumerate(secret_id) if _ID_CHARS.fullmatch(ch) is None)
        raise InvalidInputError(
            f"Invalid secret id: character {position + 1} is not an ASCII letter, digit or "
            f"underscore; {rule}."
        )
    if secret_id[0].isdigit():
        raise InvalidInputError(f"Invalid secret id: it starts with a digit; {rule}.")
    return secret_id


def validate_value(value: object) -> str:
    """Return ``value`` as text if it is a valid secret value, else raise.

    Rule: 1 to 1,024 characters (Unicode code points) of valid UTF-8. ``bytes`` must decode
    as UTF-8.

    Raises
    ------
    InvalidInputError
        Naming the rule that failed; never containing the value.
    """
    # Unicode errors hold the whole value (.object), so the InvalidInputError is raised
    # outside the except block: not even its __context__ may keep the value.
    problem: str | None = None
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = ""
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"byte {exc.start + 1} is not valid UTF-8; a value must be UTF-8 text"
    elif isinstance(value, str):
        text = value
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            problem = f"character {exc.start + 1} is a lone surrogate, which UTF-8 cannot encode"
    else:
        raise InvalidInputError(
            f"Invalid value: expected str or bytes, got {type(value).__name__}."
        )
    if problem is not None:
        raise InvalidInputError(f"Invalid value: {problem}.")
    if not text:
        raise InvalidInputError("Invalid value: it is empty; a value needs 1 to 1,024 characters.")
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidInputError(
            f"Invalid value: it is {len(text):,} characters long, over Roblox's limit of 1,024."
        )
    return text


def validate_domain(domain: object) -> str | None:
    """Return ``domain`` normalized (lower case) if valid, else raise.

    ``None`` stays ``None`` (keep the current domain); ``""`` stays ``""`` (private). Otherwise
    the domain is ``*`` (any host), or a host name of lowercase letters, digits, hyphens and
    dots (labels of 1-63 characters that do not start or end with a hyphen, no trailing dot,
    at most 253 characters), optionally prefixed by ``*.`` for its subdomains. Upper case is
    folded to lower case. No scheme, port, path, query or user.

    Raises
    ------
    InvalidInputError
        Naming the rule that failed.
    """
    if domain is None:
        return None
    if not isinstance(domain, str):
        raise InvalidInputError(f"Invalid domain: expected a string, got {type(domain).__name__}.")
    if domain in ("", "*"):
        return domain
    host = domain.lower()
    what = f"Invalid domain {_shown_domain(host)!r}"
    _refuse_url_parts(host, what)
    host = host.removeprefix("*.")
    if "*" in host:
        raise InvalidInputError(
            f"{what}: a wildcard is allowed only as '*' or as a leading '*.' label."
        )
    if len(host) > MAX_DOMAIN_CHARS:
        raise InvalidInputError(
            f"{what}: the host name is {len(host)} characters long, over the limit of 253."
        )
    if host.endswith("."):
        raise InvalidInputError(f"{what}: remove the trailing dot.")
    for label in host.split("."):
        if _LABEL.fullmatch(label) is None:
            raise InvalidInputError(f"{what}: {_label_problem(label)}.")
    return domain.lower()


def _refuse_url_parts(host: str, what: str) -> None:
    """Refuse a domain that holds a part of a URL: a scheme, user, path, query, fragment or port."""
    if "://" in host:
        raise InvalidInputError(f"{what}: drop the scheme; give only the host name.")
    if "@" in host:
        raise InvalidInputError(f"{what}: a domain cannot contain a user name.")
    for sep, name in (("/", "a path"), ("?", "a query"), ("#", "a fragment"), (":", "a port")):
        if sep in host:
            raise InvalidInputError(f"{what}: a domain cannot contain {name}; give only the host.")


def _shown_domain(text: str) -> str:
    """How an invalid domain is quoted: scheme, host and numeric port only.

    A URL pasted as a domain may carry a token in its user, path, query or fragment (a webhook
    URL is one), so those parts become ``...``.
    """
    scheme, sep, rest = text.partition("://") if "://" in text else ("", "", text)
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        authority = "...@" + authority.rpartition("@")[2]
    host, colon, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    if colon and not port.isdigit():
        authority = f"{host}:..."
    shown = f"{scheme}{sep}{authority}" + ("" if tail in ("", "/") else "/...")
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _label_problem(label: str) -> str:
    """Say which host-name rule ``label`` breaks."""
    if not label.isascii():
        # Never the converted form: punycode would spell out whatever was typed.
        return "give an international name in its ASCII (xn--) form, as UTS 46 makes it"
    if not label:
        return "it has an empty label (two dots in a row, or a leading dot)"
    if len(label) > 63:
        return f"a label is {len(label)} characters long, over the limit of 63"
    if label.startswith("-") or label.endswith("-"):
        return "a label starts or ends with a hyphen"
    return "use only letters, digits, hyphens and dots"


def validate_universe_id(universe_id: object) -> int:
    """Return ``universe_id`` as an ``int`` if it is a valid universe id, else raise.

    Rule: a positive 64-bit integer, given as an ``int`` or a string of digits.

    Raises
    ------
    InvalidInputError
        Naming the rule that failed.
    """
    return _positive_int64(
        universe_id,
        "universe id",
        "a universe id is a positive whole number (the experience's Universe ID)",
    )


def _positive_int64(given: object, noun: str, rule: str) -> int:
    """``given`` (an ``int`` or a string of digits) as a positive 64-bit ``int``, else raise.

    Every refusal reads ``Invalid <noun> ...: <rule>.``; a string is quoted, cut to 40
    characters.
    """
    if isinstance(given, bool):
        raise InvalidInputError(f"Invalid {noun}: got a bool; {rule}.")
    if isinstance(given, str):
        text = given.strip()
        if not text.isascii() or not text.isdigit():
            raise InvalidInputError(f"Invalid {noun} {given[:40]!r}: {rule}.")
        number = int(text)
    elif isinstance(given, int):
        number = given
    else:
        raise InvalidInputError(f"Invalid {noun}: got {type(given).__name__}; {rule}.")
    if not 0 < number <= _INT64_MAX:
        raise InvalidInputError(f"Invalid {noun} {number}: {rule}.")
    return number


def validate_place_ids(place_ids: object) -> tuple[int, ...] | None:
    """Return the place ids to restart as a tuple of ``int``, or ``None`` for every place.

    Rule: ``None``, or a non-empty list (or other iterable, not a string) of positive 64-bit
    integers, each an ``int`` or a string of digits. Duplicates are dropped. An empty list is
    refused: Roblox reads it as "every place", which a caller passing ``[]`` hardly means.

    Raises
    ------
    InvalidInputError
        Naming the rule that failed.
    """
    if place_ids is None:
        return None
    if isinstance(place_ids, (str, bytes)) or not hasattr(place_ids, "__iter__"):
        raise InvalidInputError(
            "Invalid place ids: give a list of place ids, or None for every place."
        )
    rule = "a place id is a positive whole number (the place's ID)"
    found = [_positive_int64(place_id, "place id", rule) for place_id in place_ids]
    if not found:
        raise InvalidInputError(
            "Invalid place ids: the list is empty; name at least one place, or pass None "
            "to restart every place."
        )
    return tuple(dict.fromkeys(found))


def validate_bleed_off_minutes(minutes: object, *, maximum: int = 60) -> int | None:
    """Return the bleed-off in minutes (1 to ``maximum``), or ``None`` for an immediate shutdown.

    ``maximum`` is 60 for the legacy ``:restartServers`` and 240 for Server Management.

    Raises
    ------
    InvalidInputError
        For 0, a number outside 1 to ``maximum``, or anything but a whole number or ``None``.
    """
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInputError(
            f"Invalid bleed-off: got {type(minutes).__name__}; give whole minutes from 1 to "
            f"{maximum}, or None to shut servers down at once."
        )
    if minutes == 0:
        raise InvalidInputError(
            f"Invalid bleed-off: 0 minutes is not a bleed-off; give 1 to {maximum} minutes, or "
            "None to shut servers down at once."
        )
    if not 1 <= minutes <= maximum:
        raise InvalidInputError(
            f"Invalid bleed-off {minutes}: Roblox allows 1 to {maximum} minutes (or None to shut "
            "servers down at once)."
        )
    return minutes
