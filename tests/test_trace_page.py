"""The Pipeline Trace page under Streamlit's AppTest: stages, uploads, bad files, model choices."""

import json
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from resnet_core import trace as trace_module
from resnet_core.stages import STAGES
from tests import hostile_files as hf

PAGE = "../pages/pipeline_trace.py"


@pytest.fixture
def app():
    st.cache_resource.clear()
    first = AppTest.from_file(PAGE, default_timeout=120).run()
    return first.run()  # the run the browser asks for once the first view is drawn (common.after_first_paint)


def test_first_view_draws_the_flow_and_leaves_the_charts_for_the_next_run():
    first = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not first.exception
    assert len([b for b in first.button if b.key and b.key.startswith("flow_")]) == len(STAGES)
    assert "The network's best guess" in _texts(first)
    assert first.get("plotly_chart") == [] and "Key insight" not in " ".join(i.value for i in first.info)
    second = first.run()
    assert len(second.get("plotly_chart")) >= 2  # the enlarged channel and the skip addition
    assert "Key insight" in " ".join(i.value for i in second.info)


def _texts(at):
    return hf.shown(" ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption))


def test_page_opens_on_a_picture_its_weights_name_correctly_with_all_six_stages(app):
    assert not app.exception
    assert "A star (shapes dataset)" in _texts(app)
    assert "The network's best guess:** star (" in " ".join(m.value for m in app.markdown)  # right for the weights
    cards = [b.key for b in app.button if b.key and b.key.startswith("flow_")]
    assert cards == [f"flow_{s.key}" for s in STAGES]
    for shape in ("224 × 224 × 3", "56 × 56 × 64", "56 × 56 × 256", "1 × 1 × 256", "[1, 10]", "[1, 64, 56, 56]"):
        assert shape in _texts(app)  # the bundled weights know the 10 shape classes
    assert "instead of the lesson's 1000" in _texts(app)
    assert "Key insight" in " ".join(i.value for i in app.info)


def test_untrained_seed_model_has_the_lessons_1000_way_layer(app):
    app.sidebar.selectbox[1].set_value("none").run()
    assert not app.exception
    assert "[1, 1000]" in _texts(app) and "untrained" in app.warning[0].value


def test_every_stage_opens_without_rerunning_the_network(app, monkeypatch):
    calls = []
    original = trace_module.Tracer.__call__
    monkeypatch.setattr(
        trace_module.Tracer, "__call__", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )
    for stage in STAGES:
        app.button(key=f"flow_{stage.key}").click().run()
        assert not app.exception
        assert app.subheader[0].value == f"Stage {stage.number}: {stage.title}"
    assert calls == []


def test_residual_block_shows_x_fx_and_their_sum(app):
    app.button(key="flow_residual_block").click().run()
    charts = [c for c in app.get("plotly_chart")]
    assert any("F(x)" in c.proto.spec and "ReLU(F(x) + x)" in c.proto.spec for c in charts)


def test_classifier_shows_top5_bar_chart(app):
    app.button(key="flow_classifier").click().run()
    spec = next(c.proto.spec for c in app.get("plotly_chart") if "Top-5" in c.proto.spec)
    assert spec.count('"orientation":"h"') == 1


def test_upload_through_the_file_uploader_is_traced(app):
    app.sidebar.file_uploader[0].set_value(("stripes.png", hf.png_bytes(120, 90), "image/png")).run()
    assert not app.exception
    assert not app.error
    assert "Your upload: stripes.png" in _texts(app)


def test_switching_model_and_impossible_weights(app):
    model, weights = app.sidebar.selectbox[0], app.sidebar.selectbox[1]
    model.set_value("resnet18").run()
    assert not app.exception
    assert "untrained" in app.warning[0].value
    app.sidebar.selectbox[1].set_value("imagenet").run()
    assert not app.exception
    assert "cannot run with imagenet weights" in app.error[0].value
    assert weights.label == "Weights"


def test_each_stage_shows_the_lessons_does_and_shows_text(app):
    for stage in STAGES:
        app.button(key=f"flow_{stage.key}").click().run()
        assert f"**In the lesson:** {stage.does} → *{stage.shows}*" in [m.value for m in app.markdown]


def test_stage_three_describes_the_traced_models_own_first_block(app):
    text = _texts(app)
    assert "two 3 × 3 convolutions" in text and "identity shortcut" in text and "bottleneck" not in text
    app.sidebar.selectbox[0].set_value("resnet50").run()
    app.button(key="flow_residual_block").click().run()
    text = _texts(app)
    assert "a bottleneck: a 1 × 1 convolution that narrows" in text and "projection shortcut" in text


def test_the_skip_captions_conclusion_is_the_rule_applied_to_the_measured_ratio(app):
    caption = next(c.value for c in app.caption if "|F(x)| is" in c.value)
    percent = int(re.search(r"\|F\(x\)\| is (\d+)% of \|x\|", caption).group(1))
    assert trace_module.change_words(percent / 100) in caption


def test_stage_six_says_why_it_has_10_scores_not_1000(app):
    app.button(key="flow_classifier").click().run()
    assert "outputs 10 scores, not the lesson's 1,000" in _texts(app)
    app.sidebar.selectbox[1].set_value("none").run()
    assert "not the lesson's" not in _texts(app)  # untrained: the lesson's 1000-way layer


def test_the_residual_size_chart_compares_the_weights_on_the_same_picture(app):
    chart = next(c for c in app.get("plotly_chart") if "|F(x)| / |x|" in str(json.loads(c.proto.spec)["layout"]))
    names = [trace["name"] for trace in json.loads(chart.proto.spec)["data"]]
    assert names == ["bundled weights (shown above)", "untrained (random)"]
