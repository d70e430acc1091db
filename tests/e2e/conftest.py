"""End-to-end fixtures: a real `streamlit run app.py` on a free loopback port, driven by Debian's Chromium.

Without Chromium the tests are skipped with that reason, unless REQUIRE_E2E=1 (set by .ci/run),
which turns the skip into a failure. A screenshot of every failing test lands in test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("REQUIRE_E2E") == "1":
        pytest.fail(f"REQUIRE_E2E=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 120.0) -> None:
    """Poll Streamlit's health endpoint until it answers ok."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy at {url} within {timeout:.0f} s")


@contextlib.contextmanager
def serve(log_name: str | None = None):
    """A fresh headless ``streamlit run app.py`` on a free loopback port; its log goes to test-artifacts/."""
    log_name = log_name or f"streamlit-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"  # one per process
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / log_name).open("w")
    env = {**os.environ, "RESNET_TRACE_OFFLINE": "1", "RESNET_TRACE_MAX_TRAININGS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield {"url": url, "process": process}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def server():
    """A headless Streamlit server for the whole session."""
    chromium = _chromium()  # skip early, before starting a server, when there is no browser
    with serve() as running:
        yield {**running, "chromium": chromium}


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=server["chromium"], args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def page(browser, server, request):
    """A fresh browser tab; on failure its screenshot is saved to test-artifacts/<test>.png."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    yield tab
    if getattr(request.node, "failed_call", False):
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def settle(tab, seconds: float = 0.5) -> None:
    """Wait until Streamlit has finished running the script (its status widget is gone)."""
    time.sleep(seconds)
    tab.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=180_000)
