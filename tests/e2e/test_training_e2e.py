"""Training Lab in a real browser: a tiny configuration trains to the end and shows both curves."""

import pytest

from tests.e2e.conftest import settle
from tests.e2e.test_quiz_e2e import open_page

pytestmark = pytest.mark.e2e


def set_number(tab, label, value):
    field = tab.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    settle(tab, 0.3)


def test_tiny_training_runs_to_the_end_with_both_curves(page, server):
    open_page(page, server["url"], "Training Lab")
    page.get_by_role("button", name="Train").wait_for()
    set_number(page, "Epochs", 1)
    page.get_by_text("More settings").click()
    set_number(page, "Training images", 64)
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Epoch by epoch").wait_for(timeout=240_000)
    settle(page, 1.0)
    loss = page.locator(".js-plotly-plot").filter(has_text="Training loss")
    legend = loss.inner_text()
    assert "ResNet (with skips)" in legend
    assert "Plain twin (no skips)" in legend
    assert loss.locator("path.js-line").count() >= 2  # one drawn line per net
