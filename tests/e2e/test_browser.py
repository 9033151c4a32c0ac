"""The masked prompt in the frontend people use: JupyterLab in headless Chromium.

Starts JupyterLab on loopback with ``RBX_*`` pointing at a fake served from this test process,
opens a notebook with Playwright, runs ``%rbx_secret_set``, types a value into the prompt and
checks that the prompt is a password field, that the fake decrypted exactly what was typed,
and that the value is nowhere in the page, the saved notebook or JupyterLab's log. Screenshots
of the prompt and of the result go to ``test-artifacts/`` (git-ignored).

Needs Debian's ``chromium`` (``RBX_TEST_CHROMIUM`` overrides the path). Without it the test is
skipped, except under ``CI``, where it fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests

from fakeserver.pytest_plugin import FakeOpenCloudHandle

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "test-artifacts" / "jupyterlab-password-prompt.png"
SCREENSHOT_AFTER = SCREENSHOT.with_name("jupyterlab-after-set.png")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often have a 64 MB /dev/shm, too small for Chromium's shared memory.
    "--disable-dev-shm-usage",
]
SECRET_NAME = "browser_token"
NOTEBOOK = "masked-prompt.ipynb"
TIMEOUT_MS = 60_000


@pytest.fixture
def chromium() -> str:
    """The Chromium executable; skip (locally) or fail (in CI) when there is none."""
    wanted = os.environ.get("RBX_TEST_CHROMIUM", "/usr/bin/chromium")
    found = wanted if Path(wanted).is_file() else shutil.which("chromium")
    if found:
        return found
    reason = (
        f"Chromium not found at {wanted} or on PATH: install Debian's package "
        "(apt-get install chromium) or set RBX_TEST_CHROMIUM to run the JupyterLab browser test"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this test must run)")
    pytest.skip(reason)


@dataclass
class Lab:
    """A running JupyterLab: where it listens, its token, its root directory and its log."""

    url: str
    token: str
    root: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells.append(
        nbformat.v4.new_code_cell(f"%load_ext rbxsecrets_magic\n%rbx_secret_set {SECRET_NAME}")
    )
    nbformat.write(nb, path)


@pytest.fixture
def lab(chromium: str, tmp_path: Path, fake_open_cloud: FakeOpenCloudHandle) -> Iterator[Lab]:
    """JupyterLab on a loopback port, isolated from the user's settings, using the fake.

    Asks for ``chromium`` first so that nothing starts when the test is going to skip.
    """
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    # The "get notified about Jupyter news?" toast would cover the page in the screenshot.
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    _write_notebook(root / NOTEBOOK)

    token = secrets.token_hex(16)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RBX_", "JUPYTER"))}
    env.update(
        RBX_API_KEY=fake_open_cloud.api_key,
        RBX_UNIVERSE_ID=str(fake_open_cloud.universe_id),
        RBX_OPEN_CLOUD_URL=fake_open_cloud.url,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                # Nothing may reach the network: no update checks, no extension index.
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text()}")
            try:
                status = requests.get(
                    f"{url}/api/status", headers={"Authorization": f"token {token}"}, timeout=2
                )
                if status.ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in 120s:\n{log.read_text()}")
            time.sleep(0.1)
        yield Lab(url, token, root, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_masked_prompt_in_jupyterlab(
    chromium: str, lab: Lab, fake_open_cloud: FakeOpenCloudHandle
) -> None:
    from playwright.sync_api import expect, sync_playwright

    value = f"typed-in-chromium-{secrets.token_urlsafe(12)}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            # A cold kernel start can take longer than expect()'s 5 s default.
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}")
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible()

            page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click()
            page.keyboard.press("Shift+Enter")

            prompt = page.locator(".jp-Stdin-input")
            expect(prompt).to_be_visible()
            assert prompt.get_attribute("type") == "password"
            assert SECRET_NAME in page.locator(".jp-Stdin-prompt").inner_text()
            prompt.press_sequentially(value)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            print(f"\nscreenshot of the masked prompt: {SCREENSHOT}")
            prompt.press("Enter")

            # The prompt is replaced by its masked echo and the magic's confirmation.
            expect(page.locator(".jp-Stdin-input")).to_have_count(0)
            output = page.locator(".jp-OutputArea-output").filter(has_text=SECRET_NAME).last
            expect(output).to_contain_text(str(fake_open_cloud.universe_id))
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible()
            assert fake_open_cloud.plaintext(SECRET_NAME) == value
            page.screenshot(path=str(SCREENSHOT_AFTER))
            print(f"screenshot after the value was set: {SCREENSHOT_AFTER}")

            page.keyboard.press("Control+s")
            expect(page.locator(".jp-mod-dirty")).to_have_count(0)
            page_text, page_html = page.inner_text("body"), page.content()
        finally:
            browser.close()

    assert value not in page_text
    assert value not in page_html
    saved = (lab.root / NOTEBOOK).read_text()
    first = nbformat.reads(saved, as_version=4).cells[0]
    assert first.execution_count == 1 and first.outputs, "the notebook was saved without outputs"
    assert value not in saved
    assert value not in lab.log.read_text()
