"""Trainings on a shared server: each in its own process, so the server's torch settings never change."""

import threading
import time
from dataclasses import replace

import pytest
import torch

from resnet_core.errors import UserError
from resnet_core.trace import Tracer
from resnet_core.training import Record, TrainConfig, build_models
from resnet_core.training_runs import Run, RunManager
from resnet_core.weights import load_model

TINY = TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, val_size=20, batch_size=16, epochs=2)
TIMING = ("samples_per_s", "seconds")  # the only fields that may differ between identical runs


def _wait(run: Run, until, timeout: float = 60.0) -> None:
    """Wait until ``until(run)`` holds; fail loudly, with the run's state, when it does not in time."""
    deadline = time.monotonic() + timeout
    while not until(run):
        assert time.monotonic() < deadline, f"run {run.id}: {run.status} ({run.phase}) after {timeout} s {run.error}"
        time.sleep(0.02)


def _scalars(records: list[Record]) -> list[dict]:
    return [{k: v for k, v in r.to_dict().items() if k not in TIMING} for r in records]


def _threads_seen_by_a_trace() -> int:
    """What torch.get_num_threads() says inside a tracing call made from a fresh thread, as a page would."""
    seen = []
    loaded = load_model("seed", "none")

    def trace() -> None:
        Tracer(loaded.model, loaded.categories)(torch.zeros(1, 3, 224, 224))
        seen.append(torch.get_num_threads())

    thread = threading.Thread(target=trace)
    thread.start()
    thread.join()
    return seen[0]


def test_trainings_leave_the_servers_thread_count_alone():
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not the training's 1, so a change cannot go unseen
    try:
        manager = RunManager(max_running=1, threads=1)
        run = manager.start(replace(TINY, epochs=1000))
        _wait(run, lambda r: r.steps_done > 0)
        assert _threads_seen_by_a_trace() == 3  # while it trains
        run.stop()
        _wait(run, lambda r: not r.active)
        finished = manager.start(replace(TINY, epochs=1))
        _wait(finished, lambda r: not r.active)
        assert finished.status == "done"
        assert _threads_seen_by_a_trace() == 3  # after it finished
    finally:
        torch.set_num_threads(before)


def test_runs_started_together_with_one_seed_match_a_run_made_alone():
    manager = RunManager(max_running=2, threads=1)
    config = replace(TINY, epochs=1)
    alone = manager.start(config)
    _wait(alone, lambda r: not r.active)
    first, second = manager.start(config), manager.start(config)
    for run in (first, second):
        _wait(run, lambda r: not r.active)
    assert alone.status == first.status == second.status == "done"
    assert _scalars(first.records) == _scalars(second.records) == _scalars(alone.records)


def test_build_models_draws_from_its_own_generator_whatever_other_threads_draw():
    reference = build_models(TINY, 10)["resnet"].state_dict()
    done = threading.Event()

    def draw() -> None:  # another session using torch's global generator meanwhile
        while not done.is_set():
            torch.rand(64)

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        built = [build_models(TINY, 10)["resnet"].state_dict() for _ in range(5)]
    finally:
        done.set()
        drawer.join()
    for state in built:
        assert all(torch.equal(state[key], reference[key]) for key in reference)


def test_run_manager_caps_concurrent_trainings_and_isolates_failures(monkeypatch, tmp_path):
    monkeypatch.setenv("RESNET_TRACE_DATA", str(tmp_path))  # the server's data folder: empty
    manager = RunManager(max_running=1)
    first = manager.start(replace(TINY, epochs=1000))
    second = manager.start(replace(TINY, dataset="cifar10"))
    _wait(first, lambda r: r.status == "running")
    assert second.status == "waiting" and manager.queue(second) == (1, 0)  # one running, none ahead
    first.stop()
    _wait(second, lambda r: not r.active)
    assert first.status == "stopped"
    assert second.status == "failed" and "cannot be downloaded" in second.error


def test_stop_ends_a_running_training_within_a_second():
    run = RunManager(max_running=1).start(replace(TINY, epochs=1000))
    _wait(run, lambda r: r.steps_done > 2)
    asked = time.monotonic()
    run.stop()
    _wait(run, lambda r: not r.active, timeout=1.0)
    assert run.status == "stopped" and time.monotonic() - asked < 1.0


def test_a_bad_config_is_refused_before_it_queues():
    with pytest.raises(UserError, match="batch size"):
        RunManager().start(replace(TINY, batch_size=128))


def test_a_training_worker_starts_without_torchvision():
    import subprocess
    import sys

    code = "import sys, resnet_core.training_worker, resnet_core.training; print('torchvision' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"  # 1.7 s less for every run to start
