"""One training in a process of its own: ``python -m resnet_core.training_worker``.

The server's :class:`~resnet_core.training_runs.RunManager` starts one worker per run, so a run's
thread count, random numbers, memory and CPU never touch the server process: torch's thread
count is process-wide (``torch.set_num_threads``), and so is its global random generator.

Protocol, one JSON object per line. The parent writes ``{"config": {...}, "threads": N}`` on
stdin; the worker answers on stdout with ``{"phase": "..."}`` as it moves on, ``{"record": {...}}``
for every record of :func:`~resnet_core.training.train`, and last ``{"end": "done"}`` or
``{"error": "one line"}``. A ``stop`` line or the end of stdin (the parent went away) stops it.
Anything else the process prints goes to stderr, never into the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import IO

__all__ = ["main"]


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
        _send(channel, {"error": f"{type(error).__name__}: {one_line(error)}"})
        return 1
    _send(channel, {"end": "stopped" if stop.is_set() else "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
