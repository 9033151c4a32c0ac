"""Every exception the fake defines survives a pickle round trip with all its fields."""

from __future__ import annotations

import importlib
import pickle
import pkgutil

import pytest

import fakeserver
from fakeserver.backend.models import Receipt
from fakeserver.errors import (
    ApiProblem,
    AppTimeout,
    BadRequest,
    Conflict,
    DropConnection,
    Forbidden,
    GameServerError,
    InjectedFault,
    LuauError,
    LuauValueError,
    MethodNotAllowed,
    NetworkBlockedError,
    NotFound,
    RojoProjectError,
    TooManyRequests,
    Unauthorized,
    UnreadableRequest,
    UnsealError,
)


def _defined_exceptions() -> set[type[BaseException]]:
    """Every exception class defined in a fakeserver module, found by walking the package tree."""
    found: set[type[BaseException]] = set()
    for info in pkgutil.walk_packages(fakeserver.__path__, "fakeserver."):
        if info.name == "fakeserver.__main__":
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")
            ):
                found.add(value)
    return found


def _with_receipt(error: BadRequest) -> BadRequest:
    error.receipt = Receipt(
        credential_id="key-1", key_id="42", sequence=7, headers=(("x-ratelimit-remaining", "3"),)
    )
    return error


# One instance of every exception class, every field set away from its default.
_SAMPLES: list[BaseException] = [
    ApiProblem("something failed", headers=[("X-Extra", "1")]),
    _with_receipt(BadRequest("domain is invalid", headers=[("X-Extra", "1")])),
    Unauthorized(),
    Forbidden("no access to universe 1"),
    NotFound("no secret 'a'"),
    MethodNotAllowed("PUT", ["GET", "POST"]),
    Conflict("secret 'a' exists"),
    TooManyRequests("slow down", headers=[("Retry-After", "3")]),
    InjectedFault(503, retry_after=2),
    DropConnection("create_secret"),
    GameServerError("Can't find secret with given key"),
    UnsealError("does not open"),
    AppTimeout("no answer within 1.0 s"),
    UnreadableRequest(431, "too many headers"),
    LuauError("src/shared/Http.luau:3: attempt to index nil with 'x'"),
    RojoProjectError("default.project.json: not a JSON project file"),
    LuauValueError("a function value cannot be converted"),
    NetworkBlockedError("blocked network access to apis.roblox.com:443"),
]


def test_every_exception_class_has_a_sample() -> None:
    assert {type(sample) for sample in _SAMPLES} == _defined_exceptions()


def test_every_public_exception_class_is_in_the_one_tree() -> None:
    # The tree in fakeserver.errors is the whole list; a module may re-export, never define.
    strays = {f"{cls.__module__}.{cls.__name__}" for cls in _defined_exceptions()}
    assert {name for name in strays if not name.startswith("fakeserver.errors.")} == set()


@pytest.mark.parametrize("error", _SAMPLES, ids=lambda e: type(e).__name__)
def test_pickle_round_trip_keeps_every_field(error: BaseException) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert again.args == error.args
    assert vars(again) == vars(error)
    assert str(again) == str(error) and repr(again) == repr(error)
