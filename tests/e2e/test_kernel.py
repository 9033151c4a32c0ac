"""A real ipykernel answers %rbx_secret_set's masked prompt over the stdin channel.

The fake is served in this process on loopback; the kernel finds it through RBX_* variables.
The test answers the kernel's ``input_request`` like a Jupyter frontend would, then checks that
the fake decrypted exactly that value and that no iopub message, and no entry of the kernel's
history database, contains it.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

pytestmark = pytest.mark.e2e

VALUE = "typed-into-the-kernel-prompt ✓ 42"
TIMEOUT = 60.0


@pytest.fixture
def kernel(fake_open_cloud: Any, tmp_path: Path) -> Iterator[tuple[BlockingKernelClient, Path]]:
    """A kernel of this interpreter, configured for the fake, with its own IPYTHONDIR."""
    spec_dir = tmp_path / "kernels" / "rbxtest"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "rbxtest",
                "language": "python",
            }
        )
    )
    ipython_dir = tmp_path / "ipython"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBX_")}
    env.update(
        RBX_OPEN_CLOUD_URL=fake_open_cloud.url,
        RBX_UNIVERSE_ID=str(fake_open_cloud.universe_id),
        RBX_API_KEY=fake_open_cloud.api_key,
        RBX_E2E_FROM_ENV=VALUE,
        IPYTHONDIR=str(ipython_dir),
    )
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    km = KernelManager(kernel_name="rbxtest", kernel_spec_manager=specs)
    km.start_kernel(env=env, cwd=str(tmp_path))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=TIMEOUT)
        yield client, ipython_dir
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=False)


def _run(
    client: BlockingKernelClient,
    code: str,
    *,
    answers: list[str] | None = None,
    allow_stdin: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Execute ``code``; answer password prompts from ``answers``.

    Returns the execute_reply, every iopub message of the execution and every input_request.
    """
    msg_id = client.execute(code, allow_stdin=allow_stdin, store_history=True)
    pending = list(answers or [])
    requests: list[dict[str, Any]] = []
    iopub: list[dict[str, Any]] = []
    reply: dict[str, Any] | None = None
    idle = False
    deadline = time.monotonic() + TIMEOUT
    while not (idle and reply is not None):
        assert time.monotonic() < deadline, "the kernel did not finish in time"
        if allow_stdin:
            try:
                request = client.get_stdin_msg(timeout=0.05)
            except queue.Empty:
                request = None
            if request is not None:
                requests.append(request)
                assert pending, f"unexpected prompt: {request['content']}"
                client.input(pending.pop(0))
        try:
            msg = client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            msg = None
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            iopub.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        if reply is None:
            try:
                shell_msg = client.get_shell_msg(timeout=0.05)
            except queue.Empty:
                shell_msg = None
            if shell_msg is not None and shell_msg["parent_header"].get("msg_id") == msg_id:
                reply = shell_msg
    assert not pending, "a prepared answer was never asked for"
    return reply, iopub, requests


def _text(iopub: list[dict[str, Any]]) -> str:
    return json.dumps([m["content"] for m in iopub], ensure_ascii=False)


def test_masked_prompt_in_a_real_kernel(
    kernel: tuple[BlockingKernelClient, Path], fake_open_cloud: Any
) -> None:
    client, ipython_dir = kernel
    reply, iopub, requests = _run(
        client,
        "%load_ext rbxsecrets_magic\n%rbx_secret_set api_token",
        answers=[VALUE],
        allow_stdin=True,
    )
    assert reply["content"]["status"] == "ok", reply["content"]
    (request,) = requests
    assert request["msg_type"] == "input_request"
    assert request["content"]["password"] is True
    assert "api_token" in request["content"]["prompt"]
    assert str(fake_open_cloud.universe_id) in request["content"]["prompt"]
    assert fake_open_cloud.plaintext("api_token") == VALUE
    text = _text(iopub)
    assert "Created secret 'api_token'" in text
    assert VALUE not in text

    # The list renders as HTML for Jupyter, with a text fallback, and holds no value.
    reply, iopub, _ = _run(client, "%rbx_secret_list")
    results = [m for m in iopub if m["msg_type"] == "execute_result"]
    assert "<table" in results[0]["content"]["data"]["text/html"]
    assert "api_token" in results[0]["content"]["data"]["text/plain"]
    assert VALUE not in _text(iopub)

    # History as the kernel saved it.
    reply, iopub, _ = _run(client, "get_ipython().history_manager.writeout_cache()")
    with sqlite3.connect(ipython_dir / "profile_default" / "history.sqlite") as db:
        rows = db.execute("SELECT source, source_raw FROM history").fetchall()
    assert any("%rbx_secret_set api_token" in raw for _, raw in rows)
    assert not any(VALUE in source or VALUE in raw for source, raw in rows)


def test_headless_kernel_says_what_to_use_instead(
    kernel: tuple[BlockingKernelClient, Path], fake_open_cloud: Any
) -> None:
    client, _ = kernel
    reply, iopub, requests = _run(client, "%load_ext rbxsecrets_magic\n%rbx_secret_set api_token")
    assert requests == []
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "UsageError"
    text = _text(iopub)
    assert "--from-env" in text and "--from-file" in text and "--from-var" in text
    assert "Traceback" not in text
    assert fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == []

    reply, iopub, _ = _run(client, "%rbx_secret_set api_token --from-env RBX_E2E_FROM_ENV")
    assert reply["content"]["status"] == "ok", reply["content"]
    assert fake_open_cloud.plaintext("api_token") == VALUE
    assert VALUE not in _text(iopub)
