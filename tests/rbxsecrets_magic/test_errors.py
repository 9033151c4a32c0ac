"""The error tree: shape, messages, attributes, pickling; which status becomes which error."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from rbxsecrets_magic import errors
from rbxsecrets_magic.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeclinedError,
    InvalidInputError,
    NotConfirmedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RbxSecretsError,
    ServerError,
    TransportError,
    UnexpectedAnswerError,
    ValueSourceError,
    WaitTooLongError,
)
from rbxsecrets_magic.opencloud.answers import api_error_class


def test_tree_matches_the_module_docstring() -> None:
    for cls in (InvalidInputError, ValueSourceError, ApiError, TransportError):
        assert cls.__bases__[0] is RbxSecretsError
        assert cls.__name__ in errors.__doc__
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        RateLimitedError,
        ServerError,
    ):
        assert cls.__bases__ == (ApiError,)
        assert cls.__name__ in errors.__doc__
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(ValueSourceError, ValueError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (599, ServerError),
        (302, ApiError),
        (405, ApiError),
        (418, ApiError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[ApiError]) -> None:
    assert api_error_class(status) is cls


def test_api_error_message_has_context_status_detail_and_hint() -> None:
    err = BadRequestError(400, "domain is invalid", doing="creating secret 'a' in universe 7")
    assert str(err) == (
        "Creating secret 'a' in universe 7 failed: Roblox rejected the request "
        "(HTTP 400: domain is invalid). Check the secret id, value and domain against "
        "Roblox's rules."
    )
    assert (err.status, err.detail, err.args) == (400, "domain is invalid", (str(err),))


def test_detail_is_flattened_to_one_line_and_cut() -> None:
    err = ServerError(502, "line one\nline two\t" + "x" * 1000)
    text = str(err)
    assert "\n" not in text and "\t" not in text
    assert err.detail is not None and err.detail.startswith("line one line two x")
    assert len(err.detail) == 300 and err.detail.endswith("...")


def test_missing_detail_shows_the_status_alone() -> None:
    assert str(NotFoundError(404)) == (
        "Not found (HTTP 404). Check the secret id and universe id; list() shows what exists."
    )


def test_permission_hint_names_secret_store_permission_and_universe() -> None:
    hint = PermissionDeniedError.hint_for(42, write=True)
    assert hint == (
        "Give the API key the secret-store API system with write permission and add "
        "universe 42 to it (OAuth: scope universe.secret:write for universe 42)."
    )
    assert "read permission" in PermissionDeniedError.hint_for(42, write=False)


def test_rate_limited_keeps_retry_after() -> None:
    err = RateLimitedError(429, "slow down", doing="listing secrets in universe 1", retry_after=30)
    assert err.retry_after == 30
    assert str(err) == (
        "Listing secrets in universe 1 failed: Rate limited by Roblox (HTTP 429: slow down). "
        "Wait 30 s and try again; the limit is per API key owner."
    )


def test_transport_error_flags_unknown_outcome() -> None:
    assert TransportError("x", outcome_unknown=True).outcome_unknown
    assert not TransportError("x").outcome_unknown


def test_errors_that_follow_no_write_never_flag_an_unknown_outcome() -> None:
    # Callers read err.outcome_unknown on any RbxSecretsError, not only on those that set it.
    assert InvalidInputError("x").outcome_unknown is False
    assert DeclinedError("x").outcome_unknown is False


def test_api_errors_pickle_round_trip() -> None:
    err = PermissionDeniedError(403, "no", doing="listing", hint="do this.")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is PermissionDeniedError
    assert (again.status, again.detail, str(again)) == (403, "no", str(err))


def _every_error_class() -> set[type[BaseException]]:
    return {
        value
        for name in errors.__all__
        if isinstance(value := getattr(errors, name), type) and issubclass(value, BaseException)
    }


# One instance of every class in errors.__all__, every field set away from its default.
_SAMPLES: list[RbxSecretsError] = [
    RbxSecretsError("something went wrong"),
    InvalidInputError("Invalid secret id: it is empty."),
    ValueSourceError("the file given to --from-file does not exist", typed="~/token"),
    TransportError("Deleting secret 'a' failed: no answer.", outcome_unknown=True, hint="h."),
    ApiError(302, "redirect to https://x.example, not followed", doing="listing", hint="h."),
    BadRequestError(400, "domain is invalid", doing="creating secret 'a'", outcome_unknown=True),
    AuthenticationError(401, "Invalid API Key", doing="listing", hint="Log in again."),
    PermissionDeniedError(403, "no", doing="listing", hint="do this."),
    NotFoundError(404, "gone", doing="deleting secret 'a'", outcome_unknown=True),
    ConflictError(
        409, "exists", doing="creating secret 'a'", hint="maybe ours.", outcome_unknown=True
    ),
    RateLimitedError(429, "slow down", doing="listing", retry_after=7.5, outcome_unknown=True),
    ServerError(503, "down", doing="updating secret 'a'", hint="unknown.", outcome_unknown=True),
    UnexpectedAnswerError(
        200,
        "the body is not JSON",
        doing="creating secret 'a'",
        hint="h.",
        outcome_unknown=True,
        server="the server at http://127.0.0.1:1",
    ),
    WaitTooLongError("pacing would wait 86400 s", wait=86400.0, outcome_unknown=True),
    DeclinedError("restart not confirmed; nothing was restarted"),
    errors.ValueReferenceError(
        "env:NOPE", "the environment variable NOPE is not set", scheme="env"
    ),
    errors.NotAReferenceError("it is not a reference of the form scheme:..."),
    errors.UnknownSchemeError(
        "no such scheme", known=("env", "file"), group="rbxsecrets_magic.value_sources"
    ),
    errors.SopsError("sops:s.env#K", "no key K", path="s.env", key="K"),
    errors.AwsSecretError("aws-sm:prod/x#k", "no JSON key k", secret_id="prod/x", json_key="k"),
    errors.KeyringEntryError("keyring:svc/u", "no entry", service="svc", username="u"),
    errors.ValueTooLongError("env:LONG", scheme="env", length=2000, limit=1024),
    errors.KeyringUnavailableError("no system keyring", advice="set RBX_API_KEY instead"),
    NotConfirmedError("delete", could_ask=False),
]


def test_every_error_class_has_a_sample() -> None:
    # Enumerated from errors.__all__, so that a new class cannot be forgotten below.
    assert {type(sample) for sample in _SAMPLES} == _every_error_class()


@pytest.mark.parametrize("error", _SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_survives_a_pickle_round_trip_with_every_field(error: RbxSecretsError) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert (str(again), again.args) == (str(error), error.args)
    assert vars(again) == vars(error)
    for name in (
        "retry_after",
        "outcome_unknown",
        "typed",
        "status",
        "detail",
        "hint",
        "server",
        "wait",
    ):
        assert getattr(again, name, None) == getattr(error, name, None)


def test_errors_validation_and_settings_import_only_the_standard_library() -> None:
    code = (
        "import sys, rbxsecrets_magic.errors, rbxsecrets_magic.opencloud.validation\n"
        "import rbxsecrets_magic.settings\n"
        "print(sorted(m for m in ('requests', 'nacl', 'urllib3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
