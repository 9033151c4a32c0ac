"""Where a value comes from (rbxsecrets_magic.values) and redaction of the current input."""

from __future__ import annotations

import getpass
import pickle
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import StdinNotImplementedError

from rbxsecrets_magic.errors import ValueSourceError
from rbxsecrets_magic.ipython.prompt import prompt_secret
from rbxsecrets_magic.ipython.prompt import read_value as prompted_read
from rbxsecrets_magic.ipython.redact import MASK, redact_text
from rbxsecrets_magic.values import (
    SecretValue,
    read_value,
)

VALUE = "p4ss-wörd"


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: Any) -> list[str]:
    prompts: list[str] = []
    queue = list(answers)

    def fake(prompt: str = "") -> str:
        prompts.append(prompt)
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(getpass, "getpass", fake)
    return prompts


def test_secret_value_hides_itself() -> None:
    v = SecretValue(VALUE)
    assert repr(v) == str(v) == f"<secret: {len(VALUE)} characters>"
    assert f"{v}" == repr(v) and VALUE not in f"{[v]}"
    assert v.reveal() == VALUE and len(v) == len(VALUE) and v == SecretValue(VALUE)
    with pytest.raises(TypeError):
        pickle.dumps(v)
    with pytest.raises(TypeError):
        hash(v)


def test_prompt_uses_getpass_looked_up_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = _answers(monkeypatch, VALUE)
    assert prompt_secret("Value: ").reveal() == VALUE
    assert prompts == ["Value: "]


def test_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    _answers(monkeypatch, VALUE, VALUE)
    assert prompt_secret("Value: ", confirm=True).reveal() == VALUE
    _answers(monkeypatch, VALUE, VALUE + "x")
    with pytest.raises(ValueSourceError, match="differ") as info:
        prompt_secret("Value: ", confirm=True)
    assert VALUE not in str(info.value)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            StdinNotImplementedError("no frontend stdin"),
            "--from-env VAR, --from-file PATH or --from-var",
        ),
        (KeyboardInterrupt(), "cancelled"),
        (EOFError(), "cancelled"),
        ("", "empty"),
    ],
)
def test_prompt_failures(monkeypatch: pytest.MonkeyPatch, answer: Any, expected: str) -> None:
    _answers(monkeypatch, answer)
    with pytest.raises(ValueSourceError, match=expected.replace("-", r"\-")):
        prompt_secret("Value: ")


def test_from_env() -> None:
    assert read_value(from_env="X", environ={"X": VALUE}).reveal() == VALUE
    with pytest.raises(ValueSourceError, match="not set"):
        read_value(from_env="X", environ={})
    with pytest.raises(ValueSourceError, match="empty"):
        read_value(from_env="X", environ={"X": ""})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (VALUE.encode(), VALUE),
        (VALUE.encode() + b"\n", VALUE),
        (VALUE.encode() + b"\r\n", VALUE),
        (VALUE.encode() + b"\n\n", VALUE + "\n"),  # only one newline is the editor's
        (b"  spaced  ", "  spaced  "),
        (b"\xef\xbb\xbf" + VALUE.encode() + b"\n", VALUE),  # BOM of Windows tools
    ],
)
def test_from_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "v"
    path.write_bytes(content)
    assert read_value(from_file=str(path)).reveal() == expected


def test_from_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueSourceError, match="does not exist"):
        read_value(from_file=str(tmp_path / "missing"))
    with pytest.raises(ValueSourceError, match="directory"):
        read_value(from_file=str(tmp_path))
    (tmp_path / "bin").write_bytes(b"\xff" + VALUE.encode())
    with pytest.raises(ValueSourceError, match="UTF-8") as info:
        read_value(from_file=str(tmp_path / "bin"))
    assert VALUE not in str(info.value)


def test_from_var() -> None:
    ns = {"s": VALUE, "b": VALUE.encode(), "w": SecretValue(VALUE), "n": 3, "e": ""}
    for name in ("s", "b", "w"):
        assert read_value(from_var=name, namespace=ns).reveal() == VALUE
    with pytest.raises(ValueSourceError, match="holds an int"):
        read_value(from_var="n", namespace=ns)
    with pytest.raises(ValueSourceError, match="empty"):
        read_value(from_var="e", namespace=ns)
    with pytest.raises(ValueSourceError, match="not defined") as info:
        read_value(from_var="hunter2", namespace=ns)
    assert "hunter2" not in str(info.value)


def test_failed_lookups_name_what_may_be_a_value(tmp_path: Path) -> None:
    for source in (
        {"from_env": "hunter2", "environ": {}},
        {"from_file": str(tmp_path / "hunter2")},
        {"from_var": "hunter2", "namespace": {}},
    ):
        with pytest.raises(ValueSourceError) as info:
            read_value(**source)  # type: ignore[arg-type]
        assert info.value.typed.endswith("hunter2") and "hunter2" not in str(info.value)
    with pytest.raises(ValueSourceError) as info:
        read_value(from_var="n", namespace={"n": 3})
    assert info.value.typed is None  # it names a real variable: nothing to hide


def test_prompt_for_a_key_says_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _answers(monkeypatch, StdinNotImplementedError("no frontend stdin"))
    with pytest.raises(ValueSourceError) as info:
        prompted_read(prompt="", what="key", sources=("--from-env VAR", "--from-file PATH"))
    assert "pass the key with --from-env VAR or --from-file PATH" in str(info.value)
    _answers(monkeypatch, "")
    with pytest.raises(ValueSourceError, match="the key is empty"):
        prompted_read(prompt="", what="key")


def test_only_one_source() -> None:
    with pytest.raises(ValueSourceError, match="only one"):
        read_value(from_env="A", from_var="B")


# ----------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        ("%rbx_secret_set a hunter2", ["hunter2"], f"%rbx_secret_set a {MASK}"),
        ("%rbx_secret_set secret", ["secret"], f"%rbx_secret_set {MASK}"),  # not inside words
        ("x 'two words'", ["two words"], f"x '{MASK}'"),
        (
            "get_ipython().run_line_magic('m', 'a b\\\\c')",
            ["b\\c"],
            f"get_ipython().run_line_magic('m', 'a {MASK}')",
        ),
        ('%m "a\'b"', ["a'b"], f'%m "{MASK}"'),
        ("%m 'prefix hunter22 suffix'", ["hunter22"], f"%m 'prefix {MASK} suffix'"),
    ],
)
def test_redact_text(text: str, words: list[str], expected: str) -> None:
    assert redact_text(text, words) == expected
