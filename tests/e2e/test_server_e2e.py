"""The server itself: a fresh one's first visitor, and a clean shutdown while a training runs."""

import re
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, serve, settle

pytestmark = pytest.mark.e2e


def test_a_fresh_servers_first_visitor_opening_a_pages_address_gets_the_whole_app(browser):
    with serve("fresh-server.log") as fresh:
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            tab.goto(f"{fresh['url']}/training_lab")
            tab.get_by_role("button", name="Train", exact=True).wait_for()
            settle(tab)
            nav = tab.get_by_test_id("stSidebarNav").inner_text()
            assert "Pipeline Trace" in nav and "Training Lab" in nav and "navigation" not in nav
        finally:
            tab.close()


def test_shutting_the_server_down_ends_its_trainings_cleanly(browser):
    with serve("shutdown.log") as running:
        tab = browser.new_page(viewport={"width": 1400, "height": 1200})
        tab.goto(f"{running['url']}/training_lab")
        tab.get_by_role("button", name="Train", exact=True).click()
        tab.get_by_text(re.compile(r"running: step [1-9]")).wait_for(timeout=120_000)
        workers = _children(running["process"].pid)
        assert workers, "no training worker found"
        tab.close()
        running["process"].send_signal(signal.SIGTERM)
        running["process"].wait(timeout=30)
    time.sleep(0.5)
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    log = (ARTIFACTS / "shutdown.log").read_text()
    assert "terminate called" not in log and "Traceback" not in log


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (the server's training workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
