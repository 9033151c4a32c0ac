"""Issue 8, A1 and E16: a refused magic line keeps only what is certainly not a value.

Each line below carries a word containing ``S3CRET`` that may be a value typed on the line. The
line is refused, and afterwards that word is in no output, no ``In``/``_ih``/``_iN`` entry, no
column of the history database and no ``%logstart`` log file; what remains of the line is the
magic's name, option names and option arguments that passed validation.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell

MARK = "s3cret"  # compared in lower case: a lowercased echo counts too

# (line as typed, what the stored line must become)
REFUSED = [
    ("%rbx_secret_set api_token it's-MY-S3CRET", "%rbx_secret_set api_token <redacted>"),
    ("%rbx_secret_set api_token back\\slash-S3CRET", "%rbx_secret_set api_token <redacted>"),
    ('%rbx_secret_set api_token pa"ss"S3CRET9', "%rbx_secret_set api_token <redacted>"),
    (
        "%rbx_secret_set api_token --dry-run=FLAG-S3CRET",
        "%rbx_secret_set api_token --dry-run=<redacted>",
    ),
    (
        "%rbx_secret_set api_token --confirm=FLAG-S3CRET",
        "%rbx_secret_set api_token --confirm=<redacted>",
    ),
    (
        "%rbx_secret_delete api_token --missing-ok=FLAG-S3CRET",
        "%rbx_secret_delete api_token --missing-ok=<redacted>",
    ),
    (
        "%rbx_secret_set api_token --domain 'Dom@in-S3CRET'",
        "%rbx_secret_set api_token --domain <redacted>",
    ),
    (
        "%rbx_secret_set api_token --domain '*.example.com' \"unclosed S3CRET",
        "%rbx_secret_set api_token --domain '*.example.com' <redacted>",
    ),
    (
        "%rbx_secret_set api_token --universe S3CRET-not-a-number",
        "%rbx_secret_set api_token --universe <redacted>",
    ),
    (
        "%rbx_secret_set api_token --from-var tok 'two words S3CRET'",
        "%rbx_secret_set api_token --from-var tok <redacted>",
    ),
    (
        "%rbx_secret_set api_token --from-env S3CRET-not-a-var",
        "%rbx_secret_set api_token --from-env <redacted>",
    ),
    ("%rbx_secret_set 'S3CRET with spaces'", "%rbx_secret_set <redacted>"),
    ("%rbx_secret_delete api_token 'S3CRET!'", "%rbx_secret_delete api_token <redacted>"),
    ("%rbx_secret_list S3CRET-on-list", "%rbx_secret_list <redacted>"),
    (
        "%rbx_secret_login --universe 123 S3CRET-on-login",
        "%rbx_secret_login --universe 123 <redacted>",
    ),
    ("%rbx_secret_logout S3CRET-on-logout", "%rbx_secret_logout <redacted>"),
    ("%rbx_secret_set api_token -S3CRET", "%rbx_secret_set api_token <redacted>"),
    (
        "%rbx_secret_sync --dry-run=FLAG-S3CRET --protect 'keep_*'",
        "%rbx_secret_sync --dry-run=<redacted> --protect 'keep_*'",
    ),
    ("%rbx_secret_sync --environment S3CRET-env", "%rbx_secret_sync --environment <redacted>"),
]


def _history_rows(s: MagicShell) -> list[tuple[str, str]]:
    hm = s.ip.history_manager
    hm.writeout_cache()
    with sqlite3.connect(hm.hist_file) as db:
        return db.execute("SELECT source, source_raw FROM history").fetchall()


def _assert_gone(s: MagicShell, log: Path | None = None) -> None:
    places = {
        "output": s.output,
        "In": "\n".join(s.ip.user_ns["In"]),
        "_ih": "\n".join(s.ip.user_ns["_ih"]),
        "_iN": "\n".join(
            v for k, v in s.ip.user_ns.items() if k.startswith("_i") and isinstance(v, str)
        ),
        "history source": "\n".join(source for source, _ in _history_rows(s)),
        "history source_raw": "\n".join(raw for _, raw in _history_rows(s)),
    }
    if log is not None:
        places["log file"] = log.read_text(encoding="utf-8")
    for where, text in places.items():
        assert MARK not in text.lower(), f"the typed word is still in {where}"


@pytest.mark.parametrize(("line", "kept"), REFUSED, ids=[line for line, _ in REFUSED])
def test_refused_line_keeps_only_what_is_not_a_value(
    cloud_shell: MagicShell, line: str, kept: str
) -> None:
    s = cloud_shell
    s.ip.user_ns["tok"] = "a-value-in-a-variable"
    message = s.usage_error(line)
    assert MARK not in message.lower()
    assert s.prompt.prompts == []
    assert s.cloud.fake.secret_ids(s.cloud.universe_id) == []
    number = s.ip.execution_count - 1
    assert s.ip.user_ns[f"_i{number}"] == kept
    magic, _, rest = kept[1:].partition(" ")
    assert s.ip.user_ns["In"][number] == f"get_ipython().run_line_magic({magic!r}, {rest!r})"
    assert (s.ip.user_ns["In"][number], kept) in _history_rows(s)
    assert "removed from this session's history" in message
    _assert_gone(s)


@pytest.mark.parametrize("raw", [False, True], ids=["log", "raw-log"])
def test_refused_line_leaves_the_logstart_file(
    cloud_shell: MagicShell, tmp_path: Path, raw: bool
) -> None:
    s = cloud_shell
    log = tmp_path / "session.log.py"
    s.ok(f"%logstart {'-r ' if raw else ''}{log}")
    s.run("x = 1")
    message = s.usage_error("%rbx_secret_set api_token it's-MY-S3CRET")
    assert "log" in message
    s.run("y = 2")  # the log goes on after the rewrite
    text = log.read_text(encoding="utf-8")
    assert "y = 2" in text and "x = 1" in text and "api_token <redacted>" in text
    _assert_gone(s, log)
    s.ok("%logstop")


def test_a_log_file_out_of_reach_is_not_claimed_clean(
    cloud_shell: MagicShell, tmp_path: Path
) -> None:
    s = cloud_shell
    log = tmp_path / "gone.log.py"
    s.ok(f"%logstart {log}")
    os.remove(log)  # the logger keeps writing to the unlinked file; nobody can rewrite it
    message = s.usage_error("%rbx_secret_set api_token it's-MY-S3CRET")
    assert "not from the %logstart log" in message
    assert MARK not in message.lower()
    s.ok("%logstop")


def test_a_refused_line_in_a_cell_of_several_lines(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.usage_error('x = 1\n%rbx_secret_set api_token pa"ss"S3CRET9\ny = 2')
    number = s.ip.execution_count - 1
    assert s.ip.user_ns[f"_i{number}"] == "x = 1\n%rbx_secret_set api_token <redacted>\ny = 2"
    _assert_gone(s)


def test_a_typed_option_is_named_with_a_suggestion_and_kept(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    s.ip.user_ns["tok"] = "a-value-in-a-variable"
    message = s.usage_error("%rbx_secret_set api_token --domian '*.example.com' --from-var tok")
    assert "Unknown option --domian (did you mean --domain?)" in message
    assert "never typed on the line" not in message
    number = s.ip.execution_count - 1
    # Nothing here is a value: the line stays as typed, ready to be fixed and run again.
    assert s.ip.user_ns[f"_i{number}"] == (
        "%rbx_secret_set api_token --domian '*.example.com' --from-var tok"
    )
    message = s.usage_error("%rbx_secret_set api_token --domian S3CRET@x --from-var tok")
    assert "--domian" in message
    assert s.ip.user_ns[f"_i{number + 1}"] == (
        "%rbx_secret_set api_token --domian <redacted> --from-var tok"
    )
    _assert_gone(s)


def test_options_without_argument_and_missing_names_use_own_words(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    assert "--domain expected one argument" in s.usage_error("%rbx_secret_set api_token --domain")
    assert "required" in s.usage_error("%rbx_secret_delete")
    assert "--universe must be a universe id" in s.usage_error("%rbx_secret_list --universe S3CRET")
    _assert_gone(s)
