"""Execute every notebook in notebooks/ top to bottom in a real kernel, answering its prompts.

nbclient cannot answer ``input_request`` messages, and the quickstart types values into the
masked prompt of ``%rbx_secret_set``. So this drives an ipykernel with ``jupyter_client``
directly: each code cell is executed with ``allow_stdin=True``, every password request on the
stdin channel is answered from the notebook's list of answers, and any error output, error
reply or unanswered prompt fails the test.
"""

from __future__ import annotations

import os
import queue
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

pytestmark = pytest.mark.e2e

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# What a person would type at each masked prompt, in order. Every answer must be asked for.
ANSWERS: dict[str, list[str]] = {
    "quickstart.ipynb": ["typed-in-the-prompt 1", "typed-in-the-prompt 2"],
    "testing-with-the-fake.ipynb": [],
}

CELL_TIMEOUT = 180.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellRun:
    """What one executed cell produced: its text outputs and the prompts it answered."""

    source: str
    outputs: list[str] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)


class NotebookFailed(AssertionError):
    """A cell raised, or the kernel asked for something the test cannot give."""


def _output_text(msg: dict[str, Any]) -> str | None:
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return str(content["text"])
    if kind in ("execute_result", "display_data"):
        data = content["data"]
        return "\n".join(str(data[mime]) for mime in ("text/plain", "text/html") if mime in data)
    return None


def _answer_prompt(kc: BlockingKernelClient, run: CellRun, answers: list[str]) -> None:
    """Answer a pending password prompt, if any, with the next of ``answers``."""
    try:
        request = kc.get_stdin_msg(timeout=0.01)
    except queue.Empty:
        return
    if request["msg_type"] == "input_request":
        run.prompts.append(request["content"])
        if not answers:
            prompt = request["content"]["prompt"]
            raise NotebookFailed(f"unexpected prompt {prompt!r}:\n{run.source}")
        kc.input(answers.pop(0))


def _read_output(kc: BlockingKernelClient, run: CellRun, msg_id: str) -> bool:
    """Take one output message of the cell; True once the kernel is idle again."""
    try:
        msg = kc.get_iopub_msg(timeout=0.05)
    except queue.Empty:
        return False
    if msg["parent_header"].get("msg_id") != msg_id:
        return False
    if msg["msg_type"] == "error":
        trace = ANSI.sub("", "\n".join(msg["content"]["traceback"]))
        raise NotebookFailed(f"cell raised:\n{run.source}\n---\n{trace}")
    if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
        return True
    if (text := _output_text(msg)) is not None:
        run.outputs.append(text)
    return False


def run_cell(kc: BlockingKernelClient, source: str, answers: list[str]) -> CellRun:
    """Execute one cell, answering each password prompt with the next of ``answers``."""
    run = CellRun(source)
    msg_id = kc.execute(source, allow_stdin=True, store_history=True)
    deadline = time.monotonic() + CELL_TIMEOUT
    idle = False
    while not idle:
        if time.monotonic() > deadline:
            raise NotebookFailed(f"cell did not finish in {CELL_TIMEOUT:.0f}s:\n{source}")
        _answer_prompt(kc, run, answers)
        idle = _read_output(kc, run, msg_id)
    reply = kc.get_shell_msg(timeout=CELL_TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=CELL_TIMEOUT)
    if reply["content"]["status"] != "ok":
        raise NotebookFailed(f"cell ended with {reply['content']['status']}:\n{source}")
    return run


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[BlockingKernelClient]:
    """A python3 ipykernel working in an empty directory, with no RBX_* settings inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    env["IPYTHONDIR"] = str(tmp_path / ".ipython")
    km: KernelManager
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_every_notebook_has_a_list_of_answers() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(ANSWERS)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_notebook_is_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_notebook_runs_top_to_bottom(name: str, kernel: BlockingKernelClient) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    typed = list(ANSWERS[name])
    answers = list(typed)
    runs = [run_cell(kernel, cell.source, answers) for cell in nb.cells if cell.cell_type == "code"]

    assert answers == [], f"the notebook never asked for {len(answers)} of its answers"
    prompts = [p for run in runs for p in run.prompts]
    assert len(prompts) == len(typed)
    assert all(p["password"] for p in prompts), "every prompt for a value must be masked"
    for value in typed:
        # A typed value may appear only where the notebook asks the fake's oracle for it,
        # which is how it proves that the fake decrypted exactly what was typed.
        showing = [run for run in runs if any(value in out for out in run.outputs)]
        assert showing, f"no cell showed that the fake decrypted {value!r}"
        assert all("fake.plaintext" in run.source for run in showing), [r.source for r in showing]
