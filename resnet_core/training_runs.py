"""Background training runs for a server that serves a whole class.

A :class:`RunManager` gives every comparison a process of its own
(:mod:`resnet_core.training_worker`) and lets at most ``max_running`` train at once; the others
wait (status ``"waiting"``) until a slot frees. Processes, not threads: torch's thread count and
its global random generator are process-wide, so a training in a thread would change them for
every learner's trace; a process also gives the CPU-heavy Python work of a training its own GIL,
its memory can be capped, and Stop ends it at once whatever it is doing.

The rules that keep one learner from costing the others their session:

- a run is refused before it starts when its estimate (:mod:`resnet_core.training_budget`) is
  over the server's memory or time limit, with the largest value that would fit;
- a session (``owner``) has at most one active run: starting another stops the first;
- a run whose session stops asking about it (:meth:`RunManager.seen`; a closed tab, a reload) is
  stopped after ``orphan_s`` seconds, and any run is stopped at the server's wall-time limit;
- shutting down stops every run and its process (:meth:`RunManager.stop_all`, also at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from resnet_core.errors import one_line
from resnet_core.settings import max_run_mb, max_run_s, max_trainings, train_threads
from resnet_core.training import Record, TrainConfig, total_steps
from resnet_core.training_budget import Budget, check

__all__ = ["ORPHAN_S", "Queue", "Run", "RunManager"]

KEEP_RUNS = 200  # finished runs kept in memory for learners who come back to the page
ORPHAN_S = 30.0  # a run nobody has asked about for this long is stopped
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # so the worker imports this very resnet_core
_managers: weakref.WeakSet[RunManager] = weakref.WeakSet()


@dataclass
class Run:
    """One comparison: its config, its records so far and where it stands."""

    id: int  # unique within the manager
    config: TrainConfig  # what is trained
    owner: str | None = None  # the browser session that started it (None: a script's own run)
    budget: Budget | None = None  # what it was estimated to cost
    status: str = "waiting"  # waiting, running, done, stopped or failed
    phase: str = ""  # what a running run is doing: "starting", "preparing data", "training"
    records: list[Record] = field(default_factory=list)  # appended as the nets learn
    error: str = ""  # one line when status is "failed"
    why_stopped: str = ""  # one line when the server, not the learner, stopped it
    peak_mb: float | None = None  # the memory it used, measured by its worker (done runs)
    total_steps: int = 0  # steps per net, from the config (known while the run still waits)
    queued: float = field(default_factory=time.monotonic)  # when it was started
    started: float = 0.0  # time.monotonic() when its process started
    finished: float = 0.0  # time.monotonic() when it ended
    seen: float = field(default_factory=time.monotonic)  # when its session last asked about it
    stop_event: threading.Event = field(default_factory=threading.Event)
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self, why: str = "") -> None:
        """End the run now: its process is killed whatever it is doing (a waiting run never starts)."""
        if why and not self.stop_event.is_set():
            self.why_stopped = why
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


class Queue(NamedTuple):
    """Where a waiting run stands."""

    running: int  # trainings running now
    ahead: int  # runs waiting that started before this one


class RunManager:
    """Starts each run in a worker process, at most ``max_running`` training at a time."""

    def __init__(
        self,
        max_running: int | None = None,
        threads: int | None = None,
        max_mb: float | None = None,
        max_s: float | None = None,
        orphan_s: float = ORPHAN_S,
    ) -> None:
        self.max_running = max(1, max_running if max_running is not None else max_trainings())
        self.threads = max(1, threads if threads is not None else train_threads())
        self.max_mb = max_mb if max_mb is not None else max_run_mb()
        self.max_s = max_s if max_s is not None else max_run_s()
        self.orphan_s = orphan_s
        self._slots = threading.Semaphore(self.max_running)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._runs: dict[int, Run] = {}
        self._watchdog: threading.Thread | None = None
        _managers.add(self)

    def budget(self, config: TrainConfig, labels: dict[str, str] | None = None) -> Budget:
        """The estimate of ``config``, or a UserError when it is over this server's limits."""
        return check(config, self.max_mb, self.max_s, self.threads, labels)

    def start(self, config: TrainConfig, owner: str | None = None, labels: dict[str, str] | None = None) -> Run:
        """Queue ``config`` and return its Run at once; training happens in a worker process.

        The config is validated and budgeted first (a UserError says what is wrong, naming fields
        as ``labels`` calls them). An active run of the same ``owner`` is stopped.
        """
        config.validate(labels)
        budget = self.budget(config, labels)
        run = Run(next(self._ids), config, owner, budget, total_steps=total_steps(config, config.train_size))
        with self._lock:
            previous = [old for old in self._runs.values() if owner is not None and old.owner == owner and old.active]
            self._runs[run.id] = run
            finished = [old for old in self._runs.values() if not old.active]
            for old in finished[: max(0, len(self._runs) - KEEP_RUNS)]:  # forget the oldest results
                del self._runs[old.id]
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="training-watchdog", daemon=True)
                self._watchdog.start()
        for old in previous:
            old.stop("you started another training")
        threading.Thread(target=self._work, args=(run,), name=f"training-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: int | None) -> Run | None:
        """The run with ``run_id``, if this manager knows it."""
        with self._lock:
            return self._runs.get(run_id) if run_id is not None else None

    def seen(self, owner: str) -> None:
        """``owner``'s session is still there: its runs are not orphans."""
        now = time.monotonic()
        with self._lock:
            for run in self._runs.values():
                if run.owner == owner:
                    run.seen = now

    def queue(self, run: Run) -> Queue:
        """How many trainings run now, and how many waiting runs are ahead of ``run``."""
        with self._lock:
            running = sum(1 for other in self._runs.values() if other.status == "running")
            ahead = sum(1 for other in self._runs.values() if other.status == "waiting" and other.id < run.id)
        return Queue(running, ahead)

    def active_runs(self) -> list[Run]:
        """Every run waiting or training."""
        with self._lock:
            return [run for run in self._runs.values() if run.active]

    def stop_all(self, why: str = "the server is shutting down", timeout: float = 5.0) -> None:
        """Stop every active run and wait (up to ``timeout`` s) until each has ended and its process is gone."""
        runs = self.active_runs()
        for run in runs:
            run.stop(why)
        deadline = time.monotonic() + timeout
        for run in runs:
            if run._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    run._process.wait(timeout=max(0.0, deadline - time.monotonic()))
            while run.active and time.monotonic() < deadline:
                time.sleep(0.02)

    def _watch(self) -> None:
        """Once a second: stop runs past the wall-time limit and runs nobody has asked about."""
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            for run in self.active_runs():
                if run.status == "running" and now - run.started > self.max_s:
                    run.stop(f"it reached this server's limit of {self.max_s:,.0f} s per training")
                elif run.owner is not None and now - run.seen > self.orphan_s:
                    run.stop(f"nobody had looked at it for {self.orphan_s:.0f} s (the page was closed)")

    def _work(self, run: Run) -> None:
        while not self._slots.acquire(timeout=0.2):
            if run.stop_event.is_set():
                run.status, run.finished = "stopped", time.monotonic()
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
            run.peak_mb = end.get("peak_mb")
            if run.stop_event.is_set():
                run.status = "stopped"
            elif end.get("error"):
                run.error, run.status = end["error"], "failed"
            elif end.get("end") == "done":
                run.status = "done"
            else:  # killed from outside or crashed: the learner gets a plain line, the server's log the rest
                stderr.seek(0)
                tail = [line for line in stderr.read().decode(errors="replace").splitlines() if line.strip()]
                print(f"training {run.id} ended with exit code {code}: {tail[-1] if tail else 'no output'}",
                      file=sys.stderr)
                run.error = "the training process ended unexpectedly" + (" (out of memory?)" if code < 0 else "")
                run.status = "failed"

    def _talk(self, run: Run, process: subprocess.Popen) -> dict:
        """Send the config, then collect the worker's records until its last message (returned)."""
        request = {"config": asdict(run.config), "threads": self.threads, "max_mb": self.max_mb}
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


@atexit.register
def _stop_every_run() -> None:
    """No worker outlives the process that started it (they also stop when their stdin closes)."""
    for manager in list(_managers):
        manager.stop_all()
