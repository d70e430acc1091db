"""What a learner does first, on a machine with only requirements.txt installed (run by .ci/run).

1. The app's first page (pages/navigation.py's default, Pipeline Trace) under Streamlit's AppTest: no exception.
2. ``streamlit run app.py``: the server starts (its start-up step imports and warms everything),
   answers its health check, serves the page, and logs no traceback.
3. ``python -m resnet_core trace assets/cat.jpg``: the command-line trace prints the stage table.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `streamlit run app.py` puts app.py's folder (the repository root) on sys.path, which is how
# pages/navigation.py imports `pages.parts`; AppTest runs the page script from here, so do the same.
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "RESNET_TRACE_OFFLINE": "1"}


def first_page() -> None:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=180).run()
    assert not app.exception, [e.value for e in app.exception]
    titles = [t.value for t in app.title]
    assert titles == ["Pipeline Trace"], titles
    best = [m.value for m in app.markdown if "best guess" in m.value]
    assert best, "the first page shows no prediction"
    print(f"  first page: {titles[0]}, {best[0].splitlines()[-1]}")


def server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1"]
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    started = time.monotonic()
    try:
        while True:
            assert process.poll() is None, f"streamlit exited with {process.returncode}:\n{process.stdout.read()}"
            assert time.monotonic() - started < 180, "streamlit run app.py was not healthy within 180 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        healthy = time.monotonic() - started
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert answer.status == 200 and b"<html" in answer.read().lower()
    finally:
        process.terminate()
        log = process.communicate(timeout=30)[0]
    assert not re.search(r"Traceback|Error", log), log
    print(f"  streamlit run app.py: healthy after {healthy:.1f} s (start-up included), page served, clean log")


def command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "resnet_core", "trace", "assets/cat.jpg"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Top predictions:" in done.stdout, done.stderr
    print(f"  python -m resnet_core trace assets/cat.jpg: {len(done.stdout.splitlines())} lines, exit 0")


if __name__ == "__main__":
    for check in (first_page, server, command_line):
        check()
