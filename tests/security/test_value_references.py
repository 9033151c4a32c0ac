"""Issue 17: a reference is never shown resolved, in messages, reprs, frames or logs.

Each source resolves one good value and then fails on another reference in the same run; the
error's message, repr and attributes never hold a value, and once the run's context is closed
nothing reachable from the error's traceback (what ``%debug`` or ``sys.last_traceback`` would
walk) holds the good value either. With DEBUG logging on, no log record holds a value:
botocore logs every response body at DEBUG, which for ``GetSecretValue`` is the secret.
"""

from __future__ import annotations

import contextlib
import logging
import types
from collections.abc import Iterator
from typing import Any

import keyring
import pytest

from rbxsecrets_magic.errors import ValueReferenceError
from rbxsecrets_magic.value_sources import Reference, ResolutionContext
from tests.rbxsecrets_magic.value_sources.real_parts import (
    AwsSecretsManager,
    SecretService,
    Sops,
)

GOOD = "plaintext-GOOD-value-for-the-frames-Qz71"
OTHER = "plaintext-OTHER-value-never-shown-Wm42"


def _children(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict):
        yield from obj.keys()
        yield from obj.values()
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
    elif isinstance(obj, BaseException):
        yield from obj.args
        yield from vars(obj).values()
    else:
        with contextlib.suppress(TypeError):
            yield from vars(obj).values()
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and slot not in ("__dict__", "__weakref__"):
                    yield getattr(obj, slot, None)
        if isinstance(obj, types.FunctionType) and obj.__closure__:
            for cell in obj.__closure__:
                with contextlib.suppress(ValueError):
                    yield cell.cell_contents


def _holds(obj: Any, text: str, depth: int, seen: set[int]) -> bool:
    if isinstance(obj, str):
        return text in obj
    if isinstance(obj, (bytes, bytearray)):
        return text.encode() in obj
    if depth == 0 or id(obj) in seen or isinstance(obj, (types.ModuleType, type)):
        return False
    seen.add(id(obj))
    return any(_holds(child, text, depth - 1, seen) for child in _children(obj))


def _reachable_from(error: BaseException, text: str) -> list[str]:
    """Where ``text`` is held: frames of the error's tracebacks (and chained errors)."""
    found = []
    chain: BaseException | None = error
    while chain is not None:
        tb = chain.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if _holds(dict(frame.f_locals), text, 6, set()):
                found.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
            tb = tb.tb_next
        chain = chain.__cause__ or chain.__context__
    return found


def _run(references: tuple[str, str], **kwargs: Any) -> ValueReferenceError:
    """Resolve the good reference, then fail on the bad one; close the run; the error."""
    good, bad = references
    error = None
    with ResolutionContext(**kwargs) as context:
        assert context.resolve(good).reveal() == GOOD
        try:
            context.resolve(bad)
        except ValueReferenceError as exc:
            error = exc
    assert error is not None
    return error


def _check(error: ValueReferenceError, *, frames: bool = True) -> None:
    for text in (GOOD, OTHER):
        assert text not in str(error) and text not in repr(error)
        assert not _holds(vars(error), text, 4, set())
        if frames:
            assert _reachable_from(error, text) == []


@contextlib.contextmanager
def _debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every logger at DEBUG while the block runs, as a user debugging their setup has it."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        yield
    records = [r for r in caplog.records if not r.name.startswith(("moto", "werkzeug"))]
    assert records  # logging was on (the test's own AWS server is not counted)
    for record in records:
        message = record.getMessage()
        assert GOOD not in message and OTHER not in message, record.name


def test_sops(sops: Sops, caplog: pytest.LogCaptureFixture) -> None:
    sops.encrypt("s.enc.env", f"GOOD={GOOD}\nOTHER={OTHER}\n")
    with _debug_logging(caplog):
        logging.getLogger("test").debug("resolving")
        error = _run(("sops:s.enc.env#GOOD", "sops:s.enc.env#MISSING"), base_dir=sops.folder)
    _check(error)


def test_aws_secrets_manager(aws_sm: AwsSecretsManager, caplog: pytest.LogCaptureFixture) -> None:
    aws_sm.put("prod/stripe", {"good": GOOD, "other": OTHER})
    with _debug_logging(caplog):
        error = _run(("aws-sm:prod/stripe#good", "aws-sm:prod/stripe#missing"))
    assert any(r.name == "botocore.parsers" for r in caplog.records)  # botocore did log
    _check(error)


def test_keyring(secret_service: SecretService, caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_password("svc", "good", GOOD)
    keyring.set_password("svc", "other", OTHER)
    with _debug_logging(caplog):
        logging.getLogger("test").debug("resolving")
        error = _run(("keyring:svc/good", "keyring:svc/missing"))
    _check(error)


def test_environment_and_too_long() -> None:
    # The environment itself stays reachable (it is the process's), so frames are not walked.
    environ = {"GOOD": GOOD, "LONG": OTHER * 40}
    _check(_run(("env:GOOD", "env:LONG"), environ=environ), frames=False)


def test_a_plugin_that_puts_the_value_in_its_exception() -> None:
    def leaky(reference: Reference, context: ResolutionContext) -> str:
        document = context.once("doc", lambda: {"good": GOOD, "other": OTHER})
        if reference.body in document:
            return document[reference.body]
        raise KeyError(f"no {reference.body} among {document}")

    _check(_run(("leaky:good", "leaky:missing"), resolvers={"leaky": leaky}))
