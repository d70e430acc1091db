"""A class at once: 20 browser sessions against one server, each tracing an uploaded image, 5 also training.

Starts `streamlit run app.py` on a free loopback port (offline, as on the class server), opens
the sessions concurrently in Debian's Chromium, and reports p50/p95 time until each page is
ready, the errors (what a learner would have seen fail: a timeout, an exception or an error shown
on the page), the retries hidden from that count but printed (uploads sent again because the
first did not show, trainings stopped and started again because the Epochs field lost its value),
and the server's peak memory (VmHWM).
A second wave checks that memory stays bounded once the first wave's sessions have closed.

    python -m benchmarks.classroom [--sessions 20] [--trainers 5] [--waves 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_core.training import PRESETS, steps_per_epoch
from tests.e2e.conftest import CHROMIUM_ARGS, ROOT, _free_port, wait_healthy

READY_TIMEOUT_MS = 240_000
ONE_EPOCH = steps_per_epoch(next(iter(PRESETS.values())), next(iter(PRESETS.values())).train_size)
HEADER = """# {day} · {machine} · {cores} cores · {sessions} sessions, {trainers} of them training
# (Training Lab, its first preset, the degradation experiment's four nets, cut to 1 epoch)
| wave | wall (s) | server CPU (s) | ready p50 (s) | ready p95 (s) | training p50 (s) | errors | upload re-sends \
| training restarts | RSS after (MiB) | peak RSS (MiB) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"""


def upload_png(seed: int) -> bytes:
    """A different small photo-like picture per session."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def settle(page) -> None:
    await asyncio.sleep(0.5)
    await page.wait_for_function(
        "!document.querySelector('[data-testid=stStatusWidget]')", timeout=READY_TIMEOUT_MS
    )


async def start_one_epoch(page) -> tuple[float, int]:
    """Set Epochs to 1 and press Train; a run of another length is stopped and the value typed again.

    Returns when the kept run was started and how many runs had to be stopped first.
    """
    field = page.get_by_label("Epochs", exact=True)
    bar = page.get_by_test_id("stProgress").first
    for retries in range(5):
        await field.fill("1")
        await field.press("Enter")
        await settle(page)
        start = time.perf_counter()
        await page.get_by_role("button", name="Train", exact=True).click()
        await page.get_by_text(re.compile(r"step \d+ of \d+")).first.wait_for()
        if re.search(rf"step \d+ of {ONE_EPOCH}\b", await bar.inner_text()):  # 1 epoch of the first preset
            return start, retries
        await page.get_by_role("button", name="Stop", exact=True).click()
        await settle(page)
    raise RuntimeError("the Epochs field did not keep the value 1 in 5 tries")


async def wait_for_training(page, start: float, result: dict) -> float:
    """Seconds until the epoch tables appear; the progress line seen last goes into the error otherwise."""
    done = page.get_by_text("Epoch by epoch")
    last = ""
    while time.perf_counter() - start < READY_TIMEOUT_MS / 1000:
        if await done.count():
            return time.perf_counter() - start
        bars = page.get_by_test_id("stProgress")
        if await bars.count():
            last = (await bars.first.inner_text()).strip()
            result.setdefault("timeline", []).append((round(time.perf_counter() - start, 1), last))
        await asyncio.sleep(2)
    raise TimeoutError(f"no epoch table after {READY_TIMEOUT_MS / 1000:.0f} s; last progress: {last!r}")


async def learner(browser, url: str, index: int, trains: bool, artifacts: Path) -> dict:
    """One learner: open the app, upload a picture, wait for its trace; maybe train too."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1400})
    page = await context.new_page()
    page.set_default_timeout(READY_TIMEOUT_MS)
    result = {"index": index, "error": "", "ready_s": None, "train_s": None, "phase": "open"}
    start = time.perf_counter()
    try:
        await page.goto(url)
        await page.get_by_text("Key insight").first.wait_for()
        await settle(page)
        result["phase"] = "upload"
        picture = {"name": f"learner{index}.png", "mimeType": "image/png", "buffer": upload_png(index)}
        shown = page.get_by_text(f"Your upload: learner{index}.png")
        result["resends"] = 0
        for attempt in range(5):  # an upload sent while the page is re-rendering can be dropped: send again
            await page.locator("input[type=file]").set_input_files(files=[picture])
            try:
                await shown.wait_for(timeout=60_000)
                break
            except Exception:
                result["resends"] = attempt + 1  # counted and printed: a learner would have had to upload again
        await shown.wait_for()
        await settle(page)
        result["ready_s"] = time.perf_counter() - start
        if trains:
            result["phase"] = "train"
            await page.get_by_test_id("stSidebarNav").get_by_text("Training Lab", exact=True).click()
            await page.get_by_role("button", name="Train").wait_for()
            await settle(page)  # the page's first run sets the preset's values: type only once it has arrived
            train_start, result["retries"] = await start_one_epoch(page)
            result["train_s"] = await wait_for_training(page, train_start, result)
        if await page.get_by_test_id("stException").count():
            result["error"] = "exception shown on the page"
        elif await page.get_by_test_id("stAlert").filter(has_text=re.compile("failed|unexpectedly|Error")).count():
            result["error"] = "an error shown on the page"
    except Exception as error:  # a benchmark reports failures, it does not stop on the first
        result["error"] = f"{result['phase']}: {type(error).__name__}: {str(error).splitlines()[0]}"
    if result["error"]:
        artifacts.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            await page.screenshot(path=artifacts / f"session{index}.png", full_page=True)
    await context.close()
    return result


async def wave(browser, url: str, sessions: int, trainers: int, artifacts: Path) -> list[dict]:
    return await asyncio.gather(*(learner(browser, url, i, i < trainers, artifacts) for i in range(sessions)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def main_async(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    port = _free_port()
    args.artifacts.mkdir(parents=True, exist_ok=True)
    log = (args.artifacts / "server.log").open("w")  # the server's own output, for failed sessions
    env = {**os.environ, "RESNET_TRACE_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        async with async_playwright() as playwright:
            chromium = shutil.which("chromium")
            # Every tab is a learner in front of the page: no background-tab timer throttling.
            unthrottled = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                           "--disable-backgrounding-occluded-windows"]
            browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + unthrottled)
            print(HEADER.format(day=date.today(), machine=platform.machine(), cores=os.cpu_count(), **vars(args)))
            for number in range(1, args.waves + 1):
                wall, cpu = time.perf_counter(), cpu_seconds(server.pid)
                results = await wave(browser, url, args.sessions, args.trainers, args.artifacts / f"wave{number}")
                wall, cpu = time.perf_counter() - wall, cpu_seconds(server.pid) - cpu
                await asyncio.sleep(args.cooldown)  # sessions closed: let the server drop their state
                ready = [r["ready_s"] for r in results if r["ready_s"] is not None]
                trained = [r["train_s"] for r in results if r["train_s"] is not None]
                errors = [r for r in results if r["error"] or r["ready_s"] is None]
                memory = memory_kib(server.pid)
                resends = sum(r.get("resends", 0) for r in results)
                restarts = sum(r.get("retries", 0) for r in results)
                print(f"| {number} | {wall:.0f} | {cpu:.0f} | {statistics.median(ready):.1f} | "
                      f"{percentile(ready, 95):.1f} | "
                      f"{statistics.median(trained) if trained else float('nan'):.1f} | {len(errors)} | "
                      f"{resends} | {restarts} | {memory['VmRSS'] / 1024:.0f} | {memory['VmHWM'] / 1024:.0f} |")
                for r in results:
                    if r.get("resends"):
                        print(f"  session {r['index']}: its upload was sent {r['resends'] + 1} times before it showed")
                    if r.get("retries"):
                        print(f"  session {r['index']}: {r['retries']} training(s) stopped and restarted "
                              "(the Epochs field had not kept 1)")
                for failure in errors:
                    print(f"  session {failure['index']}: {failure['error'] or 'not ready'}")
                if args.verbose:
                    for r in results:
                        print(f"  session {r['index']}: ready {r['ready_s']}, trained {r['train_s']}, "
                              f"progress {r.get('timeline', [])}")
            await browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--trainers", type=int, default=5)
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--artifacts", type=Path, default=ROOT / "test-artifacts" / "classroom",
                        help="where a failed session's screenshot goes")
    parser.add_argument("--verbose", action="store_true", help="print each session's progress timeline")
    parser.add_argument("--cooldown", type=float, default=20.0, help="seconds to wait after a wave closes")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
