"""One server, many sessions: the start-up step leaves nothing for concurrent first visits to race over."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Libraries whose first import in a session thread has raced with another session's
# ("partially initialized module"): after startup(), the pages must import nothing new from them.
RACY = ("torch", "torchvision", "numpy", "PIL", "plotly", "_plotly_utils", "pandas", "pyarrow", "narwhals",
        "orjson", "resnet_core")

TOUR = """
import gc, json, sys
from pages.parts.common import startup
seconds = startup()
frozen = gc.get_freeze_count()
from streamlit.testing.v1 import AppTest
before = set(sys.modules)
for page in ("pages/pipeline_trace.py", "pages/training_lab.py", "pages/quiz.py"):
    app = AppTest.from_file(page, default_timeout=120).run()
    assert not app.exception, (page, [e.value for e in app.exception])
    for key in [b.key for b in app.button if b.key and b.key.startswith("flow_")]:  # every trace stage
        app.button(key=key).click().run()
        assert not app.exception, (key, [e.value for e in app.exception])
print(json.dumps({"new": sorted(set(sys.modules) - before), "frozen": frozen, "seconds": seconds}))
"""


@pytest.fixture(scope="module")
def tour() -> dict:
    """startup() in a fresh interpreter (this test process has imported everything already), then every page."""
    done = subprocess.run([sys.executable, "-c", TOUR], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "RESNET_TRACE_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_after_startup_the_pages_import_nothing_racy(tour):
    assert [m for m in tour["new"] if m.split(".")[0] in RACY] == []


def test_startup_freezes_the_import_time_heap_out_of_the_collectors_reach(tour):
    assert tour["frozen"] > 100_000


def test_startup_warms_the_default_model_and_trace_before_anyone_connects(tour):
    assert {"default model", "default trace", "quiz answers", "figures and tables"} <= set(tour["seconds"])
