"""Training Lab in a real browser: a tiny configuration trains to the end and shows both curves."""

from pathlib import Path

import pytest

from tests.e2e.conftest import settle
from tests.e2e.test_quiz_e2e import open_page

pytestmark = pytest.mark.e2e


def set_number(tab, label, value):
    field = tab.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    settle(tab, 0.3)


def test_a_short_degradation_run_ends_with_the_papers_two_panels_and_its_verdicts(page, server):
    open_page(page, server["url"], "Training Lab")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    set_number(page, "Epochs", 1)
    page.get_by_text("More settings").click()
    set_number(page, "Training images", 64)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("What this run shows").wait_for(timeout=240_000)
    settle(page, 1.0)
    plain = page.locator(".js-plotly-plot").filter(has_text="Plain nets (no skip connections)")
    resnets = page.locator(".js-plotly-plot").filter(has_text="ResNets (with skip connections)")
    for panel, nets in ((plain, ("plain-20", "plain-56")), (resnets, ("ResNet-20", "ResNet-56"))):
        legend = panel.inner_text()
        assert all(f"{net} training" in legend and f"{net} validation" in legend for net in nets)
        assert panel.locator("path.js-line").count() >= 4  # training and validation, two nets, drawn
    assert page.get_by_role("tab", name="plain-56").count() == 1  # every net's epoch table
    assert "The lesson's example" in page.get_by_test_id("stMain").inner_text()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_widgets_cannot_start_a_run_that_would_exhaust_the_server(browser, page, server):
    """The issue's case: depth 110, width 4, 224 px, batch 16, 32 images, 1 epoch (about 28 GB for one step)."""
    before = _rss_mb(server["process"].pid)
    open_page(page, server["url"], "Training Lab")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    depth = page.get_by_role("slider", name="Depth (6n+2 layers)")
    depth.focus()
    depth.press("End")  # the deepest: 110
    settle(page, 0.3)
    set_number(page, "Epochs", 1)
    page.get_by_role("combobox", name="Batch size").click()
    page.get_by_role("option", name="16", exact=True).click()
    settle(page, 0.3)
    page.get_by_text("More settings").click()
    for label, value in (("Width multiplier", 4.0), ("Image size (px)", 224), ("Training images", 32)):
        set_number(page, label, value)
    # The last setting's refusal (reruns can lag a keystroke behind): batch 1 is still too much at 224 px.
    refusal = page.get_by_test_id("stAlert").filter(has_text="MB of memory and this server allows")
    refusal.filter(has_text="a Batch size of 1 and an Image size of at most").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Train", exact=True).is_disabled()
    # another learner is still served, and the server did not grow
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        other.goto(server["url"])
        other.get_by_text("The network's best guess").wait_for()
    finally:
        other.close()
    assert _rss_mb(server["process"].pid) - before < 300
