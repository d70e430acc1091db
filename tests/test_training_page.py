"""The Training Lab page under Streamlit's AppTest, with a tiny configuration."""

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "training_lab.py")
# the degradation experiment at toy size: plain-8, plain-14, ResNet-8, ResNet-14
TINY = {"lab_depth": 14, "lab_shallow": 8, "lab_size": 16, "lab_train_size": 64, "lab_epochs": 2, "lab_batch": 16,
        "lab_width": 0.5}


def _tiny_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    for key, value in TINY.items():
        at.session_state[key] = value
    return at


def _train_to_the_end(at: AppTest, timeout: float = 90.0) -> AppTest:
    next(b for b in at.button if b.label == "Train").click().run()
    deadline = time.monotonic() + timeout
    while "lab_shown" not in at.session_state:  # set once the run has ended
        progress = [bar.proto.text for bar in at.get("progress")]
        assert time.monotonic() < deadline, f"the run did not end within {timeout} s: {progress}"
        time.sleep(0.2)
        at.run()
    return at.run()


def test_page_trains_the_four_nets_to_the_end_with_the_papers_two_panels():
    at = _train_to_the_end(_tiny_page())
    assert not at.exception and not at.error
    charts = at.get("plotly_chart")
    names = [{trace["name"] for trace in json.loads(c.proto.spec)["data"]} for c in charts]
    assert {"plain-8 training", "plain-8 validation", "plain-14 training", "plain-14 validation"} <= names[0]
    assert {"ResNet-8 training", "ResNet-8 validation", "ResNet-14 training", "ResNet-14 validation"} <= names[1]
    assert {"plain-8", "plain-14", "ResNet-8", "ResNet-14"} == names[2]  # |dL/dx| at every block, each net
    assert len(at.tabs) == 4 and len(at.table) == 5  # one table per net, and the lesson's example
    assert any("Download run (CSV)" in str(b.proto) for b in at.get("download_button"))


def test_a_dataset_missing_on_the_server_is_named_without_a_server_path(monkeypatch, tmp_path):
    monkeypatch.setenv("RESNET_TRACE_DATA", str(tmp_path))  # the server's data folder holds no CIFAR-10
    at = _tiny_page()
    at.session_state["lab_dataset"] = "cifar10"
    at.run()
    assert not at.exception
    assert any("cifar10 is not on this server" in w.value for w in at.warning)
    assert next(b for b in at.button if b.label == "Train").disabled
    page_text = " ".join(e.value for e in [*at.warning, *at.error, *at.markdown, *at.caption])
    assert str(tmp_path) not in page_text


def test_the_labs_settings_survive_a_visit_to_another_page():
    app = AppTest.from_file(str(Path(PAGE).parent / "navigation.py"), default_timeout=60).run()
    app.switch_page("training_lab.py").run()
    app.select_slider(key="lab_depth").set_value(20).run()
    app.select_slider(key="lab_lr").set_value(0.01).run()
    app.switch_page("quiz.py").run()
    assert not app.exception
    app.switch_page("training_lab.py").run()
    assert app.select_slider(key="lab_depth").value == 20 and app.select_slider(key="lab_lr").value == 0.01


def test_a_run_over_the_servers_budget_is_refused_before_train_is_pressed(monkeypatch):
    monkeypatch.setenv("RESNET_TRACE_MAX_RUN_MB", "100")
    from pages.parts.training_ui import run_manager

    run_manager.clear()  # the server's manager reads its limits when it is made
    try:
        at = _tiny_page()
        at.session_state["lab_size"] = 224
        at.session_state["lab_batch"] = 128
        at.session_state["lab_train_size"] = 256
        at.run()
        assert any("this server allows 100 MB per training" in e.value for e in at.error)
        assert next(b for b in at.button if b.label == "Train").disabled
    finally:
        run_manager.clear()
