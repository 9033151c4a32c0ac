"""The request rules of ``POST /cloud/v2/universes/{universe_id}:restartServers``, pure.

The body is Roblox's ``RestartUniverseServersRequest``
(``shared/reference/universes-restart-servers.v2.json``): every field optional, ``{}`` valid::

    {"placeIds": [int64, ...], "closeAllVersions": bool,
     "bleedOffServers": bool, "bleedOffDurationMinutes": int32 1-60}

As for the secrets endpoints (contract section 8), ``null`` means absent. The choices where
Roblox's description is silent:

- types are strict: ``placeIds`` holds JSON integers (not strings, floats or booleans), each a
  positive int64; the booleans are JSON booleans;
- ``bleedOffDurationMinutes`` outside 1-60 is a 400 whether or not ``bleedOffServers`` is set;
  given without ``bleedOffServers: true`` it is ignored, as the description says it applies
  only then;
- ``bleedOffServers: true`` without a duration is a 400 (there is no documented default);
- an empty ``placeIds`` means every place, like an absent one.

:func:`parse_restart_body` raises :class:`~fakeserver.errors.BadRequest`, which the app renders
as the fake's usual ProblemDetails answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeGuard

from ..errors import BadRequest

__all__ = ["BLEED_OFF_MINUTES", "RESTART_FIELDS", "RestartRequest", "parse_restart_body"]

#: The fields the request body may carry.
RESTART_FIELDS = ("placeIds", "closeAllVersions", "bleedOffServers", "bleedOffDurationMinutes")
#: The allowed bleed-off durations, in minutes.
BLEED_OFF_MINUTES = range(1, 61)

_INT64_MAX = 2**63 - 1
_MAX_PLACE_IDS = 1000
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_ALLOWED = ", ".join(RESTART_FIELDS)
_DURATION_RULE = "'bleedOffDurationMinutes' must be an integer from 1 to 60"


@dataclass(frozen=True)
class RestartRequest:
    """A valid restart request.

    Attributes
    ----------
    place_ids:
        The places whose servers to restart, without duplicates, in the order sent; ``None``
        for every place.
    close_all_versions:
        Restart servers on every version, not only those on an older one.
    bleed_off_minutes:
        Minutes old servers keep running, taking no new players; ``None`` = close now.
    """

    place_ids: tuple[int, ...] | None = None
    close_all_versions: bool = False
    bleed_off_minutes: int | None = None


def parse_restart_body(body: object) -> RestartRequest:
    """Check a decoded JSON restart body and return what it asks for.

    Raises
    ------
    BadRequest
        If the body is not an object, has an unknown field, or a field of the wrong type or
        out of range. The message names the field and the rule.
    """
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    for name in body:
        if name not in RESTART_FIELDS:
            if isinstance(name, str) and _FIELD_NAME.fullmatch(name):
                raise BadRequest(f"unknown field '{name}'; allowed: {_ALLOWED}")
            raise BadRequest(f"unknown field in request body; allowed: {_ALLOWED}")
    place_ids = _place_ids(body.get("placeIds"))
    close_all = _boolean(body, "closeAllVersions")
    bleed_off = _boolean(body, "bleedOffServers")
    minutes = body.get("bleedOffDurationMinutes")
    if minutes is not None and not (_is_integer(minutes) and minutes in BLEED_OFF_MINUTES):
        raise BadRequest(_DURATION_RULE)
    if bleed_off and minutes is None:
        raise BadRequest(f"'bleedOffServers' is true, so {_DURATION_RULE}")
    return RestartRequest(
        place_ids=place_ids,
        close_all_versions=close_all,
        bleed_off_minutes=minutes if bleed_off else None,
    )


def _place_ids(value: object) -> tuple[int, ...] | None:
    """Check ``placeIds``: a list of positive int64 JSON integers; empty means all."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadRequest("'placeIds' must be a JSON array of place ids (integers)")
    if len(value) > _MAX_PLACE_IDS:
        raise BadRequest(f"'placeIds' holds more than {_MAX_PLACE_IDS} place ids")
    for item in value:
        if not _is_integer(item):
            raise BadRequest("'placeIds' must hold only integers (place ids)")
        if not 0 < item <= _INT64_MAX:
            raise BadRequest("'placeIds' must hold positive 64-bit place ids")
    return tuple(dict.fromkeys(value)) or None


def _boolean(body: dict[str, object], name: str) -> bool:
    """A JSON boolean field; absent or null is false."""
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false")
    return value


def _is_integer(value: object) -> TypeGuard[int]:
    """Whether a decoded JSON value is an integer (``True`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)
