"""Cold start: launch → server healthy → page opened in Chromium → first content visible.

Measures this app (first content = the default picture's trace: the prediction line and the six
stage boxes) beside ``benchmarks/trivial_page.py`` (a title and a line of text) the same way, in
alternating order, each from a fresh ``streamlit run`` on a free port, with one Chromium shared by
all (a fresh tab and context each time). Reports medians and the ratio of the first-content times,
the server's start-up breakdown (its "ready after" line) and the server CPU used by the visit.

    python -m benchmarks.cold_start [--repeats 5] [--root PATH]   # --root: another checkout, e.g. an older commit
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.classroom import cpu_seconds
from tests.e2e.conftest import CHROMIUM_ARGS, ROOT, _free_port, wait_healthy

TRIVIAL = ROOT / "benchmarks" / "trivial_page.py"


def visible_trivial(tab) -> None:
    tab.get_by_text("A title and a line of text.").wait_for(state="visible")


def visible_trace(tab) -> None:
    tab.get_by_text("The network's best guess").wait_for(state="visible")
    buttons = tab.get_by_role("button", name=re.compile(r"^Inspect(ing)?$"))
    deadline = time.monotonic() + 120
    while buttons.count() < 6:
        assert time.monotonic() < deadline, "the six stage boxes did not appear"
        time.sleep(0.01)


def measure(browser, root: Path, script: str, visible) -> dict:
    """One cold start of ``script`` served from ``root``: seconds to healthy, to first content, server CPU."""
    port = _free_port()
    env = {**os.environ, "RESNET_TRACE_OFFLINE": "1", "PYTHONPATH": str(root)}
    launched = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=180)
        healthy = time.monotonic() - launched
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(120_000)
        cpu_before = cpu_seconds(server.pid)
        opened = time.monotonic()
        tab.goto(url)
        visible(tab)
        first = time.monotonic() - opened
        cpu = cpu_seconds(server.pid) - cpu_before
        context.close()
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0]
    ready = re.search(r"ready after .*", log)
    return {"healthy": healthy, "first": first, "cpu": cpu, "startup": ready.group(0) if ready else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app.py is measured")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import _chromium

    apps = {"trivial page": (ROOT, str(TRIVIAL), visible_trivial), "this app": (args.root, "app.py", visible_trace)}
    results: dict[str, list[dict]] = {name: [] for name in apps}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        measure(browser, *apps["trivial page"])  # warm the disk cache and Chromium once, not counted
        for repeat in range(args.repeats):
            order = list(apps) if repeat % 2 == 0 else list(apps)[::-1]
            for name in order:
                result = measure(browser, *apps[name])
                results[name].append(result)
                print(f"# {repeat + 1} {name}: healthy {result['healthy']:.2f} s, "
                      f"first content {result['first']:.2f} s, server CPU {result['cpu']:.2f} s", flush=True)
        browser.close()
    print(f"\n# {date.today()} · {platform.machine()} · {os.cpu_count()} cores · median of {args.repeats}"
          f" · {args.root}")
    print("| page | launch → healthy (s) | open → first content (s) | spread (s) | server CPU of the visit (s) |")
    print("| --- | --- | --- | --- | --- |")
    for name, rows in results.items():
        firsts = [r["first"] for r in rows]
        print(f"| {name} | {statistics.median(r['healthy'] for r in rows):.2f} | {statistics.median(firsts):.2f} | "
              f"{min(firsts):.2f}–{max(firsts):.2f} | {statistics.median(r['cpu'] for r in rows):.2f} |")
    ratio = statistics.median(r["first"] for r in results["this app"]) / statistics.median(
        r["first"] for r in results["trivial page"])
    print(f"\nfirst trace / trivial page: {ratio:.2f}× (goal ≤ 2×)")
    if results["this app"][0]["startup"]:
        print(f"start-up (first run): {results['this app'][0]['startup']}")


if __name__ == "__main__":
    main()
