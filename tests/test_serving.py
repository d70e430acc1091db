"""One server, many sessions: what keeps concurrent first visits and live pages from stalling each other."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Libraries whose first import in a session thread has raced with another session's
# ("partially initialized module"): after pages.parts, the pages must import nothing new from them.
RACY = ("torch", "torchvision", "numpy", "PIL", "plotly", "_plotly_utils", "pandas", "pyarrow", "narwhals",
        "orjson", "resnet_core")

TOUR = """
import json, sys
import pages.parts
from streamlit.testing.v1 import AppTest
before = set(sys.modules)
for page in ("pages/pipeline_trace.py", "pages/training_lab.py", "pages/quiz.py"):
    app = AppTest.from_file(page, default_timeout=120).run()
    assert not app.exception, (page, [e.value for e in app.exception])
    for key in [b.key for b in app.button if b.key and b.key.startswith("flow_")]:  # every trace stage
        app.button(key=key).click().run()
        assert not app.exception, (key, [e.value for e in app.exception])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_the_pages_import_nothing_racy_after_pages_parts():
    # a fresh interpreter: this test process has imported everything already
    done = subprocess.run([sys.executable, "-c", TOUR], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "RESNET_TRACE_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    new = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m for m in new if m.split(".")[0] in RACY] == []


def test_the_pages_freeze_the_import_time_heap_out_of_the_collectors_reach():
    import gc

    import pages.parts  # noqa: F401  (imported once per process: torch, torchvision, plotly, engine)

    assert gc.get_freeze_count() > 100_000
