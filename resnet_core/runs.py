"""Background training runs for a server that serves a whole class.

A :class:`RunManager` starts each comparison in its own thread and lets at most ``max_running``
train at once; the others wait (status ``"waiting"``) until a slot frees. A run keeps its records
in memory, so a page can leave and come back while it trains, and whatever goes wrong in one run
ends up in that run's ``error`` text, never in another learner's page.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field

import torch

from resnet_core.data import DatasetUnavailable
from resnet_core.training import Record, TrainConfig, total_steps, train

__all__ = ["MAX_RUNNING", "Run", "RunManager"]

# How many trainings may run at once on this server (the rest wait their turn).
MAX_RUNNING = int(os.environ.get("RESNET_TRACE_MAX_TRAININGS", "2"))
# CPU threads for training: small nets run fastest on one, and contended cores stall OpenMP teams.
TRAIN_THREADS = int(os.environ.get("RESNET_TRACE_TRAIN_THREADS", "1"))
KEEP_RUNS = 200  # finished runs kept in memory for learners who come back to the page


@dataclass
class Run:
    """One comparison: its config, its records so far and where it stands."""

    id: int  # unique within the manager
    config: TrainConfig  # what is trained
    status: str = "waiting"  # waiting, running, done, stopped or failed
    records: list[Record] = field(default_factory=list)  # appended as the nets learn
    error: str = ""  # one line when status is "failed"
    total_steps: int = 0  # steps per net, from the config (known while the run still waits)
    started: float = 0.0  # time.monotonic() when training began
    finished: float = 0.0  # time.monotonic() when it ended
    stop_event: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Ask the run to end before its next step (or to never start, if still waiting)."""
        self.stop_event.set()

    @property
    def active(self) -> bool:
        """True while waiting or training."""
        return self.status in ("waiting", "running")

    @property
    def steps_done(self) -> int:
        """Steps completed by the nets so far."""
        return self.records[-1].step if self.records else 0

    def seconds_left(self) -> float | None:
        """Estimated seconds until the end, from the pace so far (None before the first step)."""
        done = self.steps_done
        if self.status != "running" or done == 0 or not self.total_steps:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / done * (self.total_steps - done)


class RunManager:
    """Starts runs in background threads, at most ``max_running`` training at a time."""

    def __init__(self, max_running: int = MAX_RUNNING) -> None:
        self.max_running = max(1, max_running)
        self._slots = threading.Semaphore(self.max_running)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._runs: dict[int, Run] = {}

    def start(self, config: TrainConfig) -> Run:
        """Queue ``config`` and return its :class:`Run` at once; training happens in a thread."""
        run = Run(next(self._ids), config, total_steps=total_steps(config, config.train_size))
        with self._lock:
            self._runs[run.id] = run
            finished = [old for old in self._runs.values() if not old.active]
            for old in finished[: max(0, len(self._runs) - KEEP_RUNS)]:  # forget the oldest results
                del self._runs[old.id]
        threading.Thread(target=self._work, args=(run,), name=f"training-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: int | None) -> Run | None:
        """The run with ``run_id``, if this manager knows it."""
        with self._lock:
            return self._runs.get(run_id) if run_id is not None else None

    def waiting_ahead(self, run: Run) -> int:
        """How many runs are queued before ``run``."""
        with self._lock:
            return sum(1 for other in self._runs.values() if other.status == "waiting" and other.id < run.id)

    def _work(self, run: Run) -> None:
        while not self._slots.acquire(timeout=0.2):
            if run.stop_event.is_set():
                run.status = "stopped"
                return
        try:
            self._train(run)
        except DatasetUnavailable as error:
            run.error, run.status = str(error), "failed"
        except Exception as error:  # a failing run must never take the server or other pages down
            run.error, run.status = f"{type(error).__name__}: {error}".splitlines()[0], "failed"
        finally:
            run.finished = time.monotonic()
            self._slots.release()

    def _train(self, run: Run) -> None:
        run.status = "running"
        torch.set_num_threads(TRAIN_THREADS)
        run.started = time.monotonic()
        for record in train(run.config, stop=run.stop_event):
            run.records.append(record)
        run.status = "stopped" if run.stop_event.is_set() else "done"
