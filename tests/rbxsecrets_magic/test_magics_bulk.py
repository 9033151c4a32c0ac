"""%rbx_secret_set --env-file: bulk set from a .env file, dry run, summary, idempotent rerun."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell

ENTRIES = {
    "API_TOKEN": "tok-Ä1-very-secret",
    "stripe_key": "sk_test_51Hxyz secret with spaces",
    "webhook_secret": "whsec_0123456789",
}


def _env_file(tmp_path: Path, entries: dict[str, str] = ENTRIES, extra: str = "") -> Path:
    path = tmp_path / "secrets.env"
    lines = ["# a comment", *(f'{name}="{value}"' for name, value in entries.items()), extra]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _plaintexts(s: MagicShell) -> dict[str, str]:
    u = s.cloud.universe_id
    return {name: s.cloud.fake.plaintext(u, name) for name in s.cloud.fake.secret_ids(u)}


def test_env_file_creates_then_updates(cloud_shell: MagicShell, tmp_path: Path) -> None:
    s = cloud_shell
    u = s.cloud.universe_id
    path = _env_file(tmp_path)
    s.ok(f"%rbx_secret_set --env-file {path}")
    assert _plaintexts(s) == ENTRIES
    assert f"Universe {u}: 3 created, 0 updated, 0 failed" in s.last_output
    assert "3/3" in s.last_output  # the progress bar (text mode outside a notebook)
    for name, value in ENTRIES.items():
        assert f"{name}" in s.last_output and str(len(value)) in s.last_output
    s.ok(f"%rbx_secret_set --env-file {path}")
    assert f"Universe {u}: 0 created, 3 updated, 0 failed" in s.last_output
    assert _plaintexts(s) == ENTRIES
    s.assert_nowhere(*ENTRIES.values())


def test_dry_run_writes_nothing(cloud_shell: MagicShell, tmp_path: Path) -> None:
    s = cloud_shell
    s.ip.user_ns["_v"] = "old-value-xyz"
    s.ok("%rbx_secret_set stripe_key --from-var _v")
    before = len(s.cloud.fake.journal)
    s.ok(f"%rbx_secret_set --env-file {_env_file(tmp_path)} --dry-run")
    assert "Dry run" in s.last_output and "2 would create, 1 would update" in s.last_output
    writes = [e for e in s.cloud.fake.journal[before:] if e.method != "GET"]
    assert writes == []
    assert _plaintexts(s) == {"stripe_key": "old-value-xyz"}
    s.assert_nowhere(*ENTRIES.values())


def test_env_file_with_domain(cloud_shell: MagicShell, tmp_path: Path) -> None:
    s = cloud_shell
    s.ok(f"%rbx_secret_set --env-file {_env_file(tmp_path)} --domain '*.example.com'")
    s.ok("_l = %rbx_secret_list")
    assert {i.domain for i in s.ip.user_ns["_l"]} == {"*.example.com"}


def test_summary_renders_as_html_in_jupyter(cloud_shell: MagicShell, tmp_path: Path) -> None:
    s = cloud_shell
    seen: list[Any] = []
    import IPython.display

    original = IPython.display.display
    try:
        IPython.display.display = lambda obj, **kw: seen.append(obj)  # type: ignore[assignment]
        s.ok(f"%rbx_secret_set --env-file {_env_file(tmp_path)}")
    finally:
        IPython.display.display = original
    (summary,) = seen
    html = summary._repr_html_()
    assert "<table" in html and "created" in html and "API_TOKEN" in html
    assert [row.action for row in summary] == ["created"] * 3
    assert summary.counts() == {"created": 3, "updated": 0, "failed": 0}
    for value in ENTRIES.values():
        assert value not in html and value not in repr(summary)


def test_failed_entries_are_reported_and_rerun_fixes_them(
    cloud_shell: MagicShell, tmp_path: Path
) -> None:
    s = cloud_shell
    path = _env_file(tmp_path)
    s.cloud.fake.inject_fault("create_secret", status=400, times=1)
    message = s.usage_error(f"%rbx_secret_set --env-file {path}")
    assert "1 of 3 entries failed" in message and "run the same command again" in message
    assert "2 created, 0 updated, 1 failed" in s.last_output
    assert "HTTP 400" in s.last_output  # the reason, in the table
    s.ok(f"%rbx_secret_set --env-file {path}")
    assert "1 created, 2 updated, 0 failed" in s.last_output
    assert _plaintexts(s) == ENTRIES
    s.assert_nowhere(*ENTRIES.values())


def test_401_fails_before_anything_is_sent(
    cloud_shell: MagicShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    monkeypatch.setenv("RBX_API_KEY", "wrong-key-0000")
    message = s.usage_error(f"%rbx_secret_set --env-file {_env_file(tmp_path)}")
    assert "HTTP 401" in message
    assert _plaintexts(s) == {}


def test_bad_entries_change_nothing_and_are_not_repeated(
    cloud_shell: MagicShell, tmp_path: Path
) -> None:
    s = cloud_shell
    path = _env_file(tmp_path, extra="sk_live_pasted_value_9f8e\n9starts_with_digit=x\nEMPTY=")
    message = s.usage_error(f"%rbx_secret_set --env-file {path}")
    assert "Nothing was set" in message and "3 problem(s)" in message
    assert "line 5 has no '='" in message
    assert "line 6 is not a valid secret name" in message
    assert "EMPTY: it is empty" in message
    assert "sk_live_pasted_value_9f8e" not in s.output and "9starts" not in s.output
    assert _plaintexts(s) == {}


def test_unparsable_lines_are_refused_not_skipped(cloud_shell: MagicShell, tmp_path: Path) -> None:
    # python-dotenv drops such a line with only a log warning: the secret would silently
    # not be set while the summary reports success.
    s = cloud_shell
    path = _env_file(tmp_path, extra='FORGOTTEN="sk_unclosed_quote_value\nOTHER sk_no_equals')
    message = s.usage_error(f"%rbx_secret_set --env-file {path}")
    assert "Nothing was set" in message and "2 problem(s)" in message
    assert "line 5 cannot be parsed" in message and "line 6 cannot be parsed" in message
    assert "sk_unclosed_quote_value" not in s.output and "sk_no_equals" not in s.output
    assert _plaintexts(s) == {}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("NAME", "drop NAME"),
        ("--from-env X", "drop --from-env"),
        ("--confirm", "drop --confirm"),
    ],
)
def test_env_file_refuses_single_value_options(
    cloud_shell: MagicShell, tmp_path: Path, options: str, expected: str
) -> None:
    line = f"%rbx_secret_set --env-file {_env_file(tmp_path)} {options}"
    assert expected in cloud_shell.usage_error(line)


def test_missing_and_empty_env_files(cloud_shell: MagicShell, tmp_path: Path) -> None:
    s = cloud_shell
    assert "does not exist" in s.usage_error(f"%rbx_secret_set --env-file {tmp_path / 'nope'}")
    (tmp_path / "empty.env").write_text("# nothing\n")
    assert "no KEY=value entries" in s.usage_error(
        f"%rbx_secret_set --env-file {tmp_path / 'empty.env'}"
    )


def test_progress_can_be_turned_off(cloud_shell: MagicShell, tmp_path: Path) -> None:
    s = cloud_shell
    s.ok("%config RbxSecretsMagics.progress = False")
    s.ok("%config RbxSecretsMagics.concurrency = 2")
    s.ok(f"%rbx_secret_set --env-file {_env_file(tmp_path)}")
    assert "3/3" not in s.last_output
    assert _plaintexts(s) == ENTRIES


def test_an_entry_sent_without_an_answer_is_unknown_not_failed(
    cloud_shell: MagicShell, tmp_path: Path
) -> None:
    s = cloud_shell
    s.ok("%config RbxSecretsMagics.timeout = 0.3")
    s.cloud.fake.inject_fault("create_secret", latency=1.0, times=1)
    message = s.usage_error(f"%rbx_secret_set --env-file {_env_file(tmp_path)}")
    assert "1 of 3 entries failed (or have an unknown outcome)" in message
    assert "2 created, 0 updated, 0 failed, 1 unknown" in s.last_output
    s.assert_nowhere(*ENTRIES.values())
