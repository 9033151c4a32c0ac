"""Parsing references, refusing what may be a value, scheme look-up, and the per-run cache."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rbxsecrets_magic.errors import (
    NotAReferenceError,
    UnknownSchemeError,
    ValueReferenceError,
    ValueSourceError,
    ValueTooLongError,
)
from rbxsecrets_magic.value_sources import (
    ENTRY_POINT_GROUP,
    Reference,
    ResolutionContext,
    parse_reference,
)

VALUE = "sk_live_51Hq8JxTopSecretValue0123"


def test_a_reference_is_split_at_its_first_colon_and_the_scheme_is_lower_cased() -> None:
    ref = parse_reference("AWS-SM:arn:aws:secretsmanager:us-east-1:1:secret:prod/x#key")
    assert ref == Reference(
        "AWS-SM:arn:aws:secretsmanager:us-east-1:1:secret:prod/x#key",
        "aws-sm",
        "arn:aws:secretsmanager:us-east-1:1:secret:prod/x#key",
    )
    assert str(ref) == ref.text


@pytest.mark.parametrize(
    "text",
    [
        VALUE,  # no colon
        "",
        "   ",
        f" env:{VALUE}",  # leading space
        f"env:{VALUE}\n",  # a line break
        f"env:{VALUE}\t",
        "1abc:" + VALUE,  # not a scheme name
        "sk_live:" + VALUE,  # '_' is not in a scheme
        "env:",  # nothing after the scheme
        "env:" + "x" * 3000,  # too long for a reference
        "env:a\x00b",
    ],
)
def test_text_that_is_no_reference_is_refused_without_being_repeated(text: str) -> None:
    with pytest.raises(NotAReferenceError) as caught:
        ResolutionContext().resolve(text)
    error = caught.value
    assert isinstance(error, ValueReferenceError)
    assert isinstance(error, ValueSourceError)
    assert error.reference is None
    assert "not repeated" in str(error)
    assert "sops:secrets.enc.env#STRIPE_KEY" in str(error)  # says what a reference looks like
    for part in (VALUE, "sk_live", "1abc", "x" * 20):
        assert part not in str(error)
    assert "\n" not in str(error)


def test_a_reference_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(NotAReferenceError, match="must be a string, not int"):
        parse_reference(5)


def test_an_unknown_scheme_names_the_known_ones_and_the_entry_point_group() -> None:
    with pytest.raises(UnknownSchemeError) as caught:
        ResolutionContext().resolve(f"tok3n:{VALUE}")
    error = caught.value
    assert error.known == ("aws-sm", "env", "file", "keyring", "sops")
    assert error.group == ENTRY_POINT_GROUP == "rbxsecrets_magic.value_sources"
    message = str(error)
    assert "aws-sm:, env:, file:, keyring:, sops:" in message
    assert ENTRY_POINT_GROUP in message
    # The text typed may be a value: neither it nor its "scheme" is repeated.
    assert VALUE not in message and "tok3n" not in message
    assert "did you mean" not in message


def test_a_mistyped_scheme_gets_the_known_one_it_is_close_to_never_the_one_typed() -> None:
    with pytest.raises(UnknownSchemeError) as caught:
        ResolutionContext().resolve("sosp:secrets.enc.env#KEY")
    assert "did you mean sops:?" in str(caught.value)
    assert "sosp" not in str(caught.value)


def test_env_reads_the_contexts_environment_and_names_a_missing_variable() -> None:
    context = ResolutionContext(environ={"STRIPE_KEY": VALUE})
    assert context.resolve("env:STRIPE_KEY").reveal() == VALUE
    assert repr(context.resolve("env:STRIPE_KEY")) == f"<secret: {len(VALUE)} characters>"
    with pytest.raises(ValueReferenceError) as caught:
        context.resolve("env:MISSING_KEY")
    assert str(caught.value).startswith("env:MISSING_KEY: the environment variable MISSING_KEY")
    assert caught.value.scheme == "env"


def test_file_reads_relative_to_the_base_folder_without_one_final_newline(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text(VALUE + "\r\n", encoding="utf-8")
    context = ResolutionContext(base_dir=tmp_path)
    assert context.resolve("file:token.txt").reveal() == VALUE
    with pytest.raises(ValueReferenceError, match=r"^file:nope\.txt: .*does not exist"):
        context.resolve("file:nope.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueReferenceError, match="directory"):
        context.resolve("file:folder")


def test_a_value_over_1024_characters_from_any_source_is_refused_with_its_length() -> None:
    long_value = "v" * 1025
    context = ResolutionContext(environ={"LONG": long_value, "EMPTY": ""})
    with pytest.raises(ValueTooLongError) as caught:
        context.resolve("env:LONG")
    assert caught.value.length == 1025
    assert str(caught.value) == (
        "env:LONG: the value is 1,025 characters long, over Roblox's limit of 1,024"
    )
    assert long_value not in repr(caught.value.__dict__)
    with pytest.raises(ValueReferenceError, match="^env:EMPTY: it is empty"):
        context.resolve("env:EMPTY")


def test_each_reference_resolves_once_per_context_and_failures_are_remembered() -> None:
    calls: list[str] = []

    def counting(reference: Reference, context: ResolutionContext) -> str:
        calls.append(reference.text)
        if reference.body == "bad":
            raise ValueReferenceError(reference.text, "not there", scheme="count")
        return context.once(("count", "document"), lambda: calls.append("doc") or "v1")

    context = ResolutionContext(resolvers={"count": counting})
    for _ in range(3):
        assert context.resolve("count:a").reveal() == "v1"
        assert context.resolve("count:b").reveal() == "v1"
        with pytest.raises(ValueReferenceError, match="^count:bad: not there$"):
            context.resolve("count:bad")
    assert calls == ["count:a", "doc", "count:b", "count:bad"]
    # A new run fetches again.
    ResolutionContext(resolvers={"count": counting}).resolve("count:a")
    assert calls[-2:] == ["count:a", "doc"]


def test_concurrent_resolutions_of_one_key_wait_for_a_single_fetch() -> None:
    started = threading.Event()
    release = threading.Event()
    fetches: list[int] = []

    def slow(reference: Reference, context: ResolutionContext) -> str:
        def fetch() -> str:
            fetches.append(1)
            started.set()
            release.wait(10)
            return "value-" + reference.body

        return context.once("shared", fetch)

    context = ResolutionContext(resolvers={"slow": slow})
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda b=b: results.append(context.resolve(f"slow:{b}").reveal()))
        for b in ("a", "b", "c")
    ]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(fetches) == 1 and len(results) == 3


def test_a_resolver_that_fails_otherwise_is_reported_by_the_type_only() -> None:
    def leaky(reference: Reference, context: ResolutionContext) -> str:
        raise RuntimeError(f"could not parse {VALUE}")

    with pytest.raises(ValueReferenceError) as caught:
        ResolutionContext(resolvers={"leaky": leaky}).resolve("leaky:x")
    assert str(caught.value) == "leaky:x: the resolver for leaky: failed (RuntimeError)"
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_resolver_that_returns_no_string_is_refused() -> None:
    def number(reference: Reference, context: ResolutionContext) -> str:
        return 42  # type: ignore[return-value]

    with pytest.raises(ValueReferenceError, match="returned int, not a string"):
        ResolutionContext(resolvers={"n": number}).resolve("n:x")


def test_the_context_repr_shows_nothing_resolved() -> None:
    context = ResolutionContext(environ={"K": VALUE}, base_dir="/tmp")
    context.resolve("env:K")
    assert VALUE not in repr(context)
    assert repr(context) == "ResolutionContext(base_dir='/tmp')"


def test_importing_value_sources_loads_no_backend_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rbxsecrets_magic.value_sources, rbxsecrets_magic.credentials.chain\n"
        "import rbxsecrets_magic.secrets_as_code.desired\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'keyring', 'secretstorage', 'requests')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
