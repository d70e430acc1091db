"""Background training runs for a server that serves a whole class.

A :class:`RunManager` gives every comparison a process of its own
(:mod:`resnet_core.training_worker`) and lets at most ``max_running`` train at once; the others
wait (status ``"waiting"``) until a slot frees. Processes, not threads: torch's thread count and
its global random generator are process-wide, so a training in a thread would change them for
every learner's trace; a process also gives the CPU-heavy Python work of a training its own GIL,
and Stop can end it at once whatever it is doing. A run keeps its records in memory, so a page
can leave and come back while it trains, and whatever goes wrong in one run ends up in that run's
``error`` text, never in another learner's page.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from resnet_core.errors import one_line
from resnet_core.settings import max_trainings, train_threads
from resnet_core.training import Record, TrainConfig, total_steps

__all__ = ["Run", "RunManager"]

KEEP_RUNS = 200  # finished runs kept in memory for learners who come back to the page
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # so the worker imports this very resnet_core


@dataclass
class Run:
    """One comparison: its config, its records so far and where it stands."""

    id: int  # unique within the manager
    config: TrainConfig  # what is trained
    status: str = "waiting"  # waiting, running, done, stopped or failed
    phase: str = ""  # what a running run is doing: "starting", "preparing data", "training"
    records: list[Record] = field(default_factory=list)  # appended as the nets learn
    error: str = ""  # one line when status is "failed"
    total_steps: int = 0  # steps per net, from the config (known while the run still waits)
    started: float = 0.0  # time.monotonic() when its process started
    finished: float = 0.0  # time.monotonic() when it ended
    stop_event: threading.Event = field(default_factory=threading.Event)
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self) -> None:
        """End the run now: its process is killed whatever it is doing (a waiting run never starts)."""
        self.stop_event.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

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
    """Starts each run in a worker process, at most ``max_running`` training at a time."""

    def __init__(self, max_running: int | None = None, threads: int | None = None) -> None:
        self.max_running = max(1, max_running if max_running is not None else max_trainings())
        self.threads = max(1, threads if threads is not None else train_threads())
        self._slots = threading.Semaphore(self.max_running)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._runs: dict[int, Run] = {}

    def start(self, config: TrainConfig) -> Run:
        """Queue ``config`` (validated first: a UserError says what is wrong) and return its Run at once."""
        config.validate()
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

    def stop_all(self) -> None:
        """Stop every active run (server shutdown)."""
        with self._lock:
            active = [run for run in self._runs.values() if run.active]
        for run in active:
            run.stop()

    def _work(self, run: Run) -> None:
        while not self._slots.acquire(timeout=0.2):
            if run.stop_event.is_set():
                run.status = "stopped"
                return
        try:
            if run.stop_event.is_set():
                run.status = "stopped"
                return
            self._train(run)
        except Exception as error:  # a failing run must never take the server or other pages down
            run.error, run.status = f"{type(error).__name__}: {one_line(error)}", "failed"
        finally:
            run.finished = time.monotonic()
            self._slots.release()

    def _train(self, run: Run) -> None:
        run.status, run.phase, run.started = "running", "starting", time.monotonic()
        with tempfile.TemporaryFile() as stderr:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                                              os.environ.get("PYTHONPATH")]))}
            run._process = process = subprocess.Popen(
                [sys.executable, "-m", "resnet_core.training_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
            )
            if run.stop_event.is_set():  # stopped while the process was being started
                process.kill()
            try:
                end = self._talk(run, process)
            finally:
                with contextlib.suppress(OSError):  # a killed worker's pipe is already broken
                    process.stdin.close()  # the worker's cue to stop, if it still runs
                code = process.wait()
                process.stdout.close()
            if run.stop_event.is_set():
                run.status = "stopped"
            elif end.get("error"):
                run.error, run.status = end["error"], "failed"
            elif end.get("end") == "done":
                run.status = "done"
            else:
                stderr.seek(0)
                tail = [line for line in stderr.read().decode(errors="replace").splitlines() if line.strip()]
                why = tail[-1][:200] if tail else "no message"
                run.error, run.status = f"the training process ended unexpectedly (exit code {code}): {why}", "failed"

    def _talk(self, run: Run, process: subprocess.Popen) -> dict:
        """Send the config, then collect the worker's records until its last message (returned)."""
        request = {"config": asdict(run.config), "threads": self.threads}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
        except OSError:  # killed by Stop before it could read
            return {}
        for line in process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
            if "record" in message:
                run.records.append(Record(**message["record"]))
            elif "phase" in message:
                run.phase = message["phase"]
            else:
                return message
        return {}
