"""Pipeline Trace in a real browser: the default picture's six stages, an upload, the skip addition."""

import pytest
from playwright.sync_api import expect

from resnet_core.samples import sample_path
from resnet_core.trace import seed_shape
from resnet_core.trace_api import trace_image
from tests import hostile_files as hf
from tests.e2e.conftest import settle

pytestmark = pytest.mark.e2e


def open_trace(tab, url):
    tab.goto(url)
    tab.get_by_text("Key insight").first.wait_for()
    settle(tab)


def test_the_default_picture_shows_six_stages_with_the_engines_shapes(page, server):
    open_trace(page, server["url"])
    expected = trace_image(sample_path("star"), "seed", "auto")  # torch computes the reference
    # The flow's buttons ("Inspect" x5 and "Inspecting") can arrive a moment after the text: wait for them.
    expect(page.get_by_role("button", name="Inspect")).to_have_count(6, timeout=60_000)
    settle(page)
    text = page.get_by_test_id("stMain").inner_text()
    for stage in expected.trace.stages:
        assert stage.stage.title in text
        assert seed_shape(stage.output_shape) in text
        assert str([1, *stage.output_shape]) in text
    assert "A star (shapes dataset)" in text and f"best guess: {expected.trace.top_k[0].label}" in text


def test_uploaded_png_gets_its_predictions(page, server, tmp_path):
    open_trace(page, server["url"])
    path = tmp_path / "gradient.png"
    path.write_bytes(hf.png_bytes(160, 120))
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("Your upload: gradient.png").wait_for()
    settle(page)
    page.get_by_role("button", name="Inspect", exact=True).last.click()
    page.get_by_text("Stage 6: Fully Connected Layer").wait_for()
    settle(page, 1.5)
    expected = trace_image(path, "seed", "auto").trace.top_k[0].label
    assert "Top-5 predictions" in page.get_by_test_id("stMain").inner_text()
    assert expected in page.locator(".js-plotly-plot").last.inner_text()


def test_residual_block_shows_x_fx_and_the_sum(page, server):
    open_trace(page, server["url"])
    page.get_by_text("Stage 3: Residual Block with Skip Connection").wait_for()
    plot = page.locator(".js-plotly-plot").filter(has_text="F(x): residual branch")
    plot.wait_for()
    text = plot.inner_text()
    assert "x (identity shortcut)" in text
    assert "ReLU(F(x) + x): block output" in text
    assert plot.locator(".heatmaplayer, .hm").count() + plot.locator("image").count() >= 3
