"""Every example in README.md works as written, against the fake.

The README's fenced blocks run in document order against one served fake Open Cloud that has
the README's universe, 6930499524:

- ``ipython`` blocks: each ``In [n]:`` input runs in one real ``InteractiveShell`` with a
  stand-in ``getpass`` answering the masked prompts. Every output line the README shows must
  be among what the shell printed, up to numbers (ids, timestamps, lengths) and spacing; an
  output starting with ``UsageError:`` must be one.
- ``python`` blocks: each runs in a fresh namespace, so every example works on its own when
  copied; a block that defines ``test_`` functions is written to a file and run with pytest.
- the ``dotenv`` block is written to ``.env`` in the working directory.
- a block right after ``<!-- readme-test: skip (...) -->`` is not run, nor are shell blocks
  (``.ci/run`` runs the test command; see the last test here).

What the README assumes a reader has is provided: ``RBX_API_KEY``, ``API_TOKEN``,
``STRIPE_KEY`` and ``~/.secrets/api_token``; ``RBX_OPEN_CLOUD_URL`` points at the fake.
"""

from __future__ import annotations

import atexit
import builtins
import getpass
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
UNIVERSE = 6930499524
TYPED = "typed-value-of-24-chars!"

_BLOCK = re.compile(
    r"(?P<skip><!-- readme-test: skip[^>]*-->\n)?^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_INPUT = re.compile(r"^In \[\d+\]: (.*)$")
_CONTINUATION = re.compile(r"^\s+\.\.\.: ?(.*)$")


@dataclass
class Block:
    """One fenced block of the README."""

    lang: str
    body: str
    skip: bool
    line: int


@dataclass
class Step:
    """One ``In [n]:`` input of an ipython block and the output the README shows for it."""

    source: str
    expected: list[str]


def readme_blocks() -> list[Block]:
    """The README's fenced blocks, in order."""
    text = README.read_text()
    return [
        Block(m["lang"], m["body"], bool(m["skip"]), text.count("\n", 0, m.start("body")) + 1)
        for m in _BLOCK.finditer(text)
    ]


def ipython_steps(body: str) -> list[Step]:
    """Split an ipython block into inputs and the output lines shown after each."""
    steps: list[Step] = []
    for line in body.splitlines():
        if (start := _INPUT.match(line)) is not None:
            steps.append(Step(start[1], []))
        elif steps and (more := _CONTINUATION.match(line)) is not None:
            steps[-1].source += "\n" + more[1]
        elif steps and line.strip():
            steps[-1].expected.append(re.sub(r"^Out\[\d+\]:\s*", "", line))
    return steps


def normalized(text: str) -> str:
    """Numbers and rule lengths made uniform, whitespace collapsed, line by line."""
    lines = (re.sub(r"-{2,}", "-", re.sub(r"\d+", "0", line)) for line in text.splitlines())
    return "\n".join(" ".join(line.split()) for line in lines)


class Prompt:
    """``getpass.getpass`` for the README session: the API key when asked for it, else a value."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.prompts: list[str] = []

    def __call__(self, prompt: str = "Password: ", stream: Any = None) -> str:
        self.prompts.append(prompt)
        return self.api_key if "API key" in prompt else TYPED


def answer_yes(prompt: str = "") -> str:
    """``input`` for the README session: a reader who answers yes, echoed as a terminal shows it."""
    print(f"{prompt}y")
    return "y"


@pytest.fixture
def reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_open_cloud_factory: Any) -> Any:
    """A served fake with the README's universe, and a reader's environment pointing at it."""
    cloud = fake_open_cloud_factory(universes=[UNIVERSE])
    for name in [k for k in os.environ if k.startswith("RBX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RBX_API_KEY", cloud.api_key)
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", cloud.url)
    monkeypatch.setenv("API_TOKEN", "token-from-the-environment")
    monkeypatch.setenv("STRIPE_KEY", "sk_test_from_the_environment")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / ".ipython"))
    (tmp_path / ".secrets").mkdir()
    (tmp_path / ".secrets" / "api_token").write_text("token-from-a-file\n")
    monkeypatch.chdir(tmp_path)
    # The README's experience runs three game servers in two places (what its restart
    # forecast shows), and the fake skips a launched restart's bleed-off at once, so that
    # `--wait` follows it to the end without the test sleeping.
    for place, players in ((1818, 20), (1818, 10), (1819, 11)):
        cloud.fake.start_server(UNIVERSE, place, players=players)

    def skip_bleed_off(entry: Any) -> None:
        if entry.operation == "launch_restart" and entry.status == 200:
            cloud.fake.advance(240 * 60)

    cloud.fake.add_listener(skip_bleed_off)
    return cloud


@pytest.fixture
def shell(reader: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A real InteractiveShell whose masked prompts the stand-in answers."""
    monkeypatch.setattr(getpass, "getpass", Prompt(reader.api_key))
    monkeypatch.setattr(builtins, "input", answer_yes)
    config = Config()
    config.HistoryManager.hist_file = str(tmp_path / "history.sqlite")
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    yield ip
    atexit.unregister(ip.atexit_operations)
    ip.atexit_operations()
    ip.cleanup()
    InteractiveShell.clear_instance()


def run_ipython(ip: InteractiveShell, block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    for step in ipython_steps(block.body):
        result = ip.run_cell(step.source, store_history=True)
        captured = capsys.readouterr()
        printed = normalized(captured.out + captured.err)
        where = f"README.md line {block.line}: {step.source}"
        if step.expected and step.expected[0].startswith("UsageError:"):
            assert type(result.error_in_exec) is UsageError, where
        else:
            assert result.success, f"{where}\n{captured.out}{captured.err}"
        for line in step.expected:
            if "········" in line:  # the masked prompt, drawn by getpass itself
                continue
            assert normalized(line) in printed, f"{where}\nexpected: {line}\nprinted:\n{printed}"


def run_pytest_example(block: Block, tmp_path: Path) -> None:
    path = tmp_path / "test_readme_example.py"
    path.write_text(block.body)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    # A developer's real key, exported: the plugin's fixtures must hide it from the examples.
    env["RBX_API_KEY"] = "real-looking-key"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no", str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, f"README.md line {block.line}:\n{run.stdout}{run.stderr}"


def test_readme_examples_work_as_written(
    shell: InteractiveShell, reader: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = {"ipython": 0, "python": 0, "pytest": 0}
    for block in readme_blocks():
        if block.skip:
            continue
        if block.lang == "dotenv":
            Path(".env").write_text(block.body)
        elif block.lang == "ipython":
            run_ipython(shell, block, capsys)
            ran["ipython"] += 1
        elif block.lang == "python" and "def test_" in block.body:
            run_pytest_example(block, tmp_path)
            ran["pytest"] += 1
        elif block.lang == "python":
            code = compile(block.body, f"README.md line {block.line}", "exec")
            namespace: dict[str, Any] = {"__name__": "readme"}
            exec(code, namespace)  # noqa: S102  running the README's own code is the point
            ran["python"] += 1
    assert all(ran.values()), ran

    # What the README's session leaves behind, decrypted by the fake.
    assert reader.plaintext("api_token") == "token-from-the-environment"
    assert reader.plaintext("stripe_key") == "sk_test_from_the_environment"
    assert reader.plaintext("GREETING") == "hello"
    assert reader.plaintext("DISCORD_WEBHOOK") == "https://discord.com/api/webhooks/1234/abcd"
    asked = getpass.getpass.prompts  # type: ignore[attr-defined]
    assert "Open Cloud API key: " in asked and "Repeat the value: " in asked


def test_ci_runs_the_readme_test_command() -> None:
    command = (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    )
    assert f"\n{command}\n" in README.read_text()
    assert command in (REPO / ".ci" / "run").read_text()
