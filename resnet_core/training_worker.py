"""One training in a process of its own: ``python -m resnet_core.training_worker``.

The server's :class:`~resnet_core.training_runs.RunManager` starts one worker per run, so a run's
thread count, random numbers, memory and CPU never touch the server process: torch's thread
count is process-wide (``torch.set_num_threads``), and so is its global random generator.

Protocol, one JSON object per line. The parent writes ``{"config": {...}, "threads": N,
"max_mb": M}`` on stdin; the worker answers on stdout with ``{"phase": "..."}`` as it moves on,
``{"record": {...}}`` for every record of :func:`~resnet_core.training.train`, and last
``{"end": "done", "peak_mb": P}`` or ``{"error": "one line"}``. A ``stop`` line or the end of stdin
(the parent went away) stops it. Anything else the process prints goes to stderr, never into the
protocol.

Memory: once torch is imported the worker caps its own heap (``RLIMIT_DATA``) at what it has now
plus ``GUARD`` times ``max_mb`` (and a little reserved address space), so an allocation past that
fails with an error instead of growing until the kernel kills something, and it marks itself the
first process the kernel's out-of-memory killer takes (``oom_score_adj`` 1000), never the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import threading
from pathlib import Path
from typing import IO

__all__ = ["GUARD", "main"]

GUARD = 2.0  # a worker's heap may grow by at most this many times the run's memory limit ...
RESERVED_MB = 256  # ... plus this, for address space reserved but not used (a thread's malloc arena: 64 MB)


def _status_mb(key: str) -> float:
    """A size from /proc/self/status (VmRSS, VmHWM, VmData) in MB; 0 where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cap_memory(max_mb: float) -> None:
    """Cap this process's heap at its size now plus GUARD * max_mb, and volunteer for the OOM killer."""
    data = _status_mb("VmData")
    if data and max_mb > 0:
        limit = int((data + GUARD * max_mb + RESERVED_MB) * 1024 * 1024)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")


def _send(channel: IO[str], message: dict) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _watch_stdin(stop: threading.Event) -> None:
    """Set ``stop`` on a ``stop`` line or when stdin closes (the parent stopped or died)."""
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()


def main() -> int:
    """Run one training as told on stdin; returns the exit status."""
    channel = os.fdopen(os.dup(1), "w")  # the protocol keeps the real stdout ...
    os.dup2(2, 1)  # ... and anything else printed, by Python or C, goes to stderr
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.readline() or "{}")

    import torch

    from resnet_core.errors import UserError, one_line
    from resnet_core.training import TrainConfig, train

    torch.set_num_threads(max(1, int(request.get("threads", 1))))  # this process only
    # The first optimizer built imports about 900 modules (torch._dynamo, sympy: some 180 MB). Build one
    # before measuring, so the peak reported (and the cap) is the run's own memory, not torch's imports.
    torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    max_mb = float(request.get("max_mb") or 0)
    baseline = _status_mb("VmRSS")
    _cap_memory(max_mb)
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    try:
        config = TrainConfig(**request["config"])
        config.validate()
        for record in train(config, stop=stop, on_phase=lambda phase: _send(channel, {"phase": phase})):
            _send(channel, {"record": record.to_dict()})
    except UserError as error:
        _send(channel, {"error": one_line(error)})
        return 0
    except Exception as error:  # reported to the learner who started it, in one line
        if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
            _send(channel, {"error": f"this training needed more memory than this server allows for one "
                                     f"({max_mb:,.0f} MB): choose a smaller batch size or image size"})
            return 0
        _send(channel, {"error": f"{type(error).__name__}: {one_line(error)}"})
        return 1
    peak = _status_mb("VmHWM") - baseline
    _send(channel, {"end": "stopped" if stop.is_set() else "done", "peak_mb": round(peak, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
