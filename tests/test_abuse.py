"""What one learner can do to a shared server with the Training Lab's settings, and what they cannot.

Each case is refused before it starts (with the largest value that fits), or stopped within its
limits; the server process (this one) does not grow, and the other runs go on.
"""

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from resnet_core import training_runs
from resnet_core.errors import UserError
from resnet_core.training import DEGRADATION, TrainConfig
from resnet_core.training_budget import Budget
from resnet_core.training_runs import RunManager

TINY = TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, val_size=20, batch_size=16, epochs=2)
FOREVER = replace(TINY, epochs=1000)  # a minute or two: longer than any test waits
SERVER_MB, SERVER_S = 1500, 600  # the defaults of RESNET_TRACE_MAX_RUN_MB and RESNET_TRACE_MAX_RUN_S


def _rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _wait(run, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not until(run):
        assert time.monotonic() < deadline, f"run {run.id}: {run.status} ({run.phase}) {run.error} {run.why_stopped}"
        time.sleep(0.02)


def _allow_everything(monkeypatch):
    """Skip the estimate, as if it had been wrong: the limits that act while a run trains must hold alone."""
    monkeypatch.setattr(training_runs, "check", lambda *a, **k: Budget(0, 0, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("config", "limit", "largest"),
    [
        (replace(DEGRADATION, depth=110, width=4.0, image_size=224, batch_size=16, train_size=32, epochs=1),
         "MB of memory", "image size of at most"),  # ~28 GB for one step
        (replace(DEGRADATION, image_size=224, train_size=50_000), "MB of memory", "at most"),  # 7.5 GB of pictures
        (replace(DEGRADATION, train_size=5000, epochs=200), "would take about", "epochs"),  # hours
    ],
    ids=["huge-step", "huge-data", "endless"],
)
def test_the_issues_configs_are_refused_before_they_start(config, limit, largest):
    manager = RunManager(max_mb=SERVER_MB, max_s=SERVER_S)
    before = _rss_mb()
    with pytest.raises(UserError, match=limit) as refused:
        manager.start(config, owner="learner")
    assert largest in str(refused.value) and "\n" not in str(refused.value)
    assert manager.active_runs() == []
    assert _rss_mb() - before < 100  # estimating allocated nothing


def test_batch_larger_than_the_training_set_is_refused_naming_both():
    with pytest.raises(UserError, match=r"batch size \(256\) is larger than training images \(32\)"):
        RunManager().start(replace(TINY, batch_size=256, train_size=32))


def test_a_run_that_outgrows_its_memory_fails_alone_and_the_server_does_not_grow(monkeypatch):
    _allow_everything(monkeypatch)  # the estimate is bypassed: only the worker's own cap is left
    manager = RunManager(max_mb=40)  # the worker may grow by at most 2 x 40 MB (+ 256 MB of reserved space)
    before = _rss_mb()
    greedy = manager.start(replace(TINY, depth=56, width=1.0, image_size=64, batch_size=64, train_size=64))
    other = manager.start(FOREVER)
    _wait(greedy, lambda r: not r.active)
    assert greedy.status == "failed" and "more memory than this server allows" in greedy.error
    _wait(other, lambda r: r.steps_done > 0)  # the other learner's run goes on
    other.stop()
    assert _rss_mb() - before < 100


def test_stop_ends_a_run_within_a_second_while_it_draws_its_data():
    run = RunManager(max_s=3600).start(replace(TINY, image_size=224, train_size=3000), owner="a")
    _wait(run, lambda r: r.phase == "preparing data")
    time.sleep(0.5)
    asked = time.monotonic()
    run.stop()
    _wait(run, lambda r: not r.active, timeout=1.0)
    assert run.status == "stopped" and run.records == [] and time.monotonic() - asked < 1.0


def test_a_session_has_one_active_run_starting_another_stops_the_first():
    manager = RunManager(max_running=2)
    first = manager.start(FOREVER, owner="a")
    neighbour = manager.start(FOREVER, owner="b")
    _wait(first, lambda r: r.steps_done > 0)
    second = manager.start(FOREVER, owner="a")
    _wait(first, lambda r: not r.active, timeout=2.0)
    assert first.why_stopped == "you started another training"
    _wait(second, lambda r: r.steps_done > 0)
    assert neighbour.active  # another session's run is untouched
    manager.stop_all()


def _watching(manager, owner, run, until, timeout=60.0):
    """Wait until ``until(run)``, asking about ``owner``'s runs meanwhile, as an open tab does."""
    deadline = time.monotonic() + timeout
    while not until(run):
        assert time.monotonic() < deadline, f"run {run.id}: {run.status} ({run.phase}) {run.why_stopped}"
        manager.seen(owner)
        time.sleep(0.1)


def test_a_run_nobody_looks_at_is_stopped_and_its_slot_freed():
    manager = RunManager(max_running=1, orphan_s=2.0)
    watched = manager.start(FOREVER, owner="open tab")
    _watching(manager, "open tab", watched, lambda r: r.steps_done > 0)
    asked_until = time.monotonic() + 3.0  # longer than orphan_s: it trains on because the tab asks
    _watching(manager, "open tab", watched, lambda r: time.monotonic() > asked_until)
    assert watched.active
    waiting = manager.start(FOREVER, owner="another tab")
    assert manager.queue(waiting) == (1, 0)  # one running, none waiting ahead
    closed = time.monotonic()  # the first tab closes: nobody asks about its run any more
    _watching(manager, "another tab", watched, lambda r: not r.active, timeout=5.0)
    assert "nobody had looked at it" in watched.why_stopped and time.monotonic() - closed < 4.0
    _watching(manager, "another tab", waiting, lambda r: r.status == "running")  # it got the freed slot
    manager.stop_all()


def test_the_wall_time_limit_ends_any_run(monkeypatch):
    _allow_everything(monkeypatch)
    run = RunManager(max_s=2.0).start(FOREVER)
    _wait(run, lambda r: not r.active, timeout=8.0)
    assert run.status == "stopped" and "limit of 2 s per training" in run.why_stopped


def test_the_waiting_message_counts_runs_running_and_waiting_ahead():
    manager = RunManager(max_running=2)
    runs = [manager.start(FOREVER, owner=str(i)) for i in range(4)]
    for run in runs[:2]:
        _wait(run, lambda r: r.status == "running")
    assert manager.queue(runs[2]) == (2, 0) and manager.queue(runs[3]) == (2, 1)
    manager.stop_all()
    assert all(r.status == "stopped" for r in runs)


EXITING_SERVER = """
import sys, time
from dataclasses import replace
from resnet_core.training import TrainConfig
from resnet_core.training_runs import RunManager
run = RunManager().start(TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, batch_size=16, epochs=1000))
while run.steps_done == 0:
    time.sleep(0.05)
print(run._process.pid, flush=True)
"""


def test_a_server_that_exits_leaves_no_training_behind_and_no_abort():
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", EXITING_SERVER], capture_output=True, text=True, timeout=120,
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr and "Traceback" not in done.stderr
    worker = int(done.stdout.split()[-1])
    time.sleep(0.5)
    assert not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2]
