"""No form of an ``rbx-secrets`` command line gets a word of it repeated back.

argparse quotes the rest of a short option (``-hS3CRETVAL`` gave ``ignored explicit argument
'S3CRETVAL'``), part of ``--option=TEXT``, or the whole word; any of them may be a value
pasted in the wrong place. The forms are generated from the parser itself, so a new option is
fuzzed too.
"""

from __future__ import annotations

import io
import itertools

import pytest

from rbxsecrets_magic.cli.app import COMMANDS, Console, _option_strings, build_parser, main

TOKEN = "Xq7S3CRETVAL9"


def _forms() -> list[tuple[str, ...]]:
    parser = build_parser()
    forms: list[tuple[str, ...]] = []
    for command in [None, *COMMANDS]:
        if command is None:
            options = sorted(o for a in parser._actions for o in a.option_strings)
            head: tuple[str, ...] = ()
        else:
            child = next(
                a for a in parser._actions if a.option_strings == [] and hasattr(a, "choices")
            ).choices[command.name]
            options = sorted(_option_strings(child))
            head = (command.name,)
        shapes = [(TOKEN,), (f"-{TOKEN}",), (f"--{TOKEN}",)]
        for option in options:
            stem = option.lstrip("-")
            shapes += [
                (f"{option}{TOKEN}",),
                (f"{option}={TOKEN}",),
                (f"{option}=={TOKEN}",),
                (option, TOKEN),
                (option, f"={TOKEN}"),
                (f"-{stem[:1]}{stem[:1]}{TOKEN}",),
            ]
        for shape, tail in itertools.product(shapes, [(), ("--json",), (TOKEN,)]):
            forms.append((*head, *shape, *tail))
            forms.append((*head, "A", *shape, *tail))
    return list(dict.fromkeys(forms))


FORMS = _forms()


def test_the_fuzz_covers_the_short_help_forms() -> None:
    assert len(FORMS) > 2000
    assert ("plan", f"-h{TOKEN}") in FORMS
    assert ("plan", f"-hh{TOKEN}") in FORMS


def test_no_argv_form_repeats_a_word(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("RBX_API_KEY", "RBX_OAUTH_TOKEN", "RBX_UNIVERSE_ID", "RBX_OPEN_CLOUD_URL"):
        monkeypatch.delenv(name, raising=False)
    leaked = []
    for argv in FORMS:
        out, err = io.StringIO(), io.StringIO()
        main(list(argv), Console(stdout=out, stderr=err, stdin=io.StringIO(), environ={}))
        text = out.getvalue() + err.getvalue()
        if "s3cret" in text.lower():
            leaked.append((argv, text.strip().splitlines()[-1]))
    assert "s3cret" not in capsys.readouterr().out.lower()  # --help's own output
    assert leaked == [], f"{len(leaked)} of {len(FORMS)} forms leak, e.g. {leaked[:3]}"
