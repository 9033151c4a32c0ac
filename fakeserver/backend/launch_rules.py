"""The request rules of Server Management's ``POST .../restarts`` (launch a restart), pure.

The body is Roblox's ``LaunchRestartRequest`` (``shared/reference/server-management.v1.json``,
the contract's section 10), every field optional and nullable, ``{}`` valid::

    {"bleedOffDurationMinutes": 1-240,
     "places": {"<placeId>": {"versions": [int32, ...]} | {"excludeCurrentVersion": bool} | {}},
     "attributes": {...}}

As elsewhere in the fake, ``null`` means absent. The choices where Roblox's description is
silent (marked * in the contract):

- types are strict: JSON integers (not strings, floats or booleans), JSON booleans; place keys
  are decimal place ids (positive int64) without sign or leading zero;
- ``places: {}`` is a 400 (it names no place; omit it to restart every place), and so is an
  empty ``versions`` list (it names no version; omit it to restart every version);
- ``versions`` and ``excludeCurrentVersion`` in one filter is a 400 even when the boolean is
  false, since the reference calls them mutually exclusive;
- ``attributes`` must be a JSON object whose compact UTF-8 serialization (no spaces, non-ASCII
  kept as UTF-8) is at most 500 bytes.

:func:`parse_launch_body` returns a :class:`~fakeserver.backend.restarts.LaunchRequest`, or raises
:class:`~fakeserver.errors.BadRequest`, which the app renders as a ProblemDetails answer (with
an integer ``status`` on Server Management's paths).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from ..errors import BadRequest
from .restarts import LaunchRequest, PlaceFilter

__all__ = [
    "ATTRIBUTES_MAX_BYTES",
    "BLEED_OFF_MINUTES",
    "LAUNCH_FIELDS",
    "attributes_size",
    "parse_launch_body",
]

#: The fields a launch body may carry.
LAUNCH_FIELDS = ("bleedOffDurationMinutes", "places", "attributes")
#: The fields a place filter may carry.
FILTER_FIELDS = ("versions", "excludeCurrentVersion")
#: The allowed bleed-off durations, in minutes.
BLEED_OFF_MINUTES = range(1, 241)
#: The largest ``attributes`` object, in bytes of compact UTF-8 JSON.
ATTRIBUTES_MAX_BYTES = 500

_INT64_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1
_MAX_PLACES = 1000
_MAX_VERSIONS = 1000
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_PLACE_KEY = re.compile(r"[1-9][0-9]{0,18}")
_DURATION_RULE = "'bleedOffDurationMinutes' must be an integer from 1 to 240, or null"


def attributes_size(attributes: object) -> int:
    """Bytes of ``attributes`` as compact UTF-8 JSON, the size the 500-byte limit counts."""
    text = json.dumps(attributes, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode("utf-8"))


def parse_launch_body(body: object) -> LaunchRequest:
    """Check a decoded JSON launch body and return what it asks for.

    Raises
    ------
    BadRequest
        If the body is not an object, has an unknown field, or a field of the wrong type or
        out of range. The message names the field and the rule.
    """
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    _known_fields(body, LAUNCH_FIELDS, "request body")
    minutes = body.get("bleedOffDurationMinutes")
    if minutes is not None and not (_is_integer(minutes) and minutes in BLEED_OFF_MINUTES):
        raise BadRequest(_DURATION_RULE)
    return LaunchRequest(
        bleed_off_minutes=minutes,
        places=_places(body.get("places")),
        attributes=_attributes(body.get("attributes")),
    )


def _known_fields(body: Mapping[str, object], allowed: tuple[str, ...], where: str) -> None:
    """Refuse a field not in ``allowed``, naming it only when it looks like a field name."""
    for name in body:
        if name not in allowed:
            listed = ", ".join(allowed)
            if _FIELD_NAME.fullmatch(name):
                raise BadRequest(f"unknown field '{name}' in {where}; allowed: {listed}")
            raise BadRequest(f"unknown field in {where}; allowed: {listed}")


def _places(value: object) -> dict[int, PlaceFilter] | None:
    """Check ``places``: an object of place id keys to place filters."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("'places' must be a JSON object of place ids to filters, or null")
    if not value:
        raise BadRequest("'places' names no place; omit it (or send null) to restart every place")
    if len(value) > _MAX_PLACES:
        raise BadRequest(f"'places' names more than {_MAX_PLACES} places")
    places: dict[int, PlaceFilter] = {}
    for key, place_filter in value.items():
        if not _PLACE_KEY.fullmatch(key) or int(key) > _INT64_MAX:
            raise BadRequest("each key of 'places' must be a place id (a positive integer)")
        places[int(key)] = _place_filter(key, place_filter)
    return places


def _place_filter(place: str, value: object) -> PlaceFilter:
    """Check one place's filter: ``versions`` or ``excludeCurrentVersion``, never both."""
    if value is None:
        return PlaceFilter()
    if not isinstance(value, dict):
        raise BadRequest(f"the filter of place {place} must be a JSON object, or null")
    _known_fields(value, FILTER_FIELDS, f"the filter of place {place}")
    versions, exclude = value.get("versions"), value.get("excludeCurrentVersion")
    if versions is not None and exclude is not None:
        raise BadRequest(
            f"the filter of place {place} has both 'versions' and 'excludeCurrentVersion'; "
            "they are mutually exclusive"
        )
    if exclude is not None:
        if not isinstance(exclude, bool):
            raise BadRequest(f"'excludeCurrentVersion' of place {place} must be true or false")
        return PlaceFilter(exclude_current_version=exclude)
    if versions is None:
        return PlaceFilter()
    if not isinstance(versions, list) or not all(
        _is_integer(v) and 0 < v <= _INT32_MAX for v in versions
    ):
        raise BadRequest(f"'versions' of place {place} must be a list of positive version numbers")
    if not versions:
        raise BadRequest(f"'versions' of place {place} is empty; omit it to restart every version")
    if len(versions) > _MAX_VERSIONS:
        raise BadRequest(f"'versions' of place {place} holds more than {_MAX_VERSIONS} versions")
    return PlaceFilter(versions=frozenset(versions))


def _attributes(value: object) -> dict[str, Any] | None:
    """Check ``attributes``: a JSON object of at most 500 bytes (compact UTF-8)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("'attributes' must be a JSON object, or null")
    size = attributes_size(value)
    if size > ATTRIBUTES_MAX_BYTES:
        raise BadRequest(
            f"'attributes' is {size} bytes as JSON; at most {ATTRIBUTES_MAX_BYTES} are allowed"
        )
    return value


def _is_integer(value: object) -> TypeGuard[int]:
    """Whether a decoded JSON value is an integer (``True`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)
