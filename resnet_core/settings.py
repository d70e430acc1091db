"""The server's switches: every environment variable the engine reads, each read here and nowhere else.

| variable | meaning | default |
| --- | --- | --- |
| ``RESNET_TRACE_OFFLINE`` | ``1``/``true``/``yes``/``on``: never touch the network | unset (online when reachable) |
| ``RESNET_TRACE_DATA`` | folder of the torchvision datasets (CIFAR-10, ...) | ``data`` |
| ``RESNET_TRACE_MAX_TRAININGS`` | trainings that may run at once on a server | 2 |
| ``RESNET_TRACE_TRAIN_THREADS`` | CPU threads of each training process | 1 |
| ``RESNET_TRACE_MAX_RUN_MB`` | memory one training may use, beyond its worker's fixed cost | 1500 |
| ``RESNET_TRACE_MAX_RUN_S`` | wall time one training may take | 600 |

Values are read when asked for, not at import, so a test or a launcher can set them first.
Whether a download host answers is asked once per process (:func:`download_blocked`).
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from resnet_core.errors import UserError, one_line

__all__ = [
    "PROBE_TIMEOUT_S",
    "data_dir",
    "download_blocked",
    "env_int",
    "machine_memory_mb",
    "mark_unreachable",
    "max_run_mb",
    "max_run_s",
    "max_trainings",
    "offline",
    "train_threads",
]

OFFLINE = "RESNET_TRACE_OFFLINE"
PROBE_TIMEOUT_S = 2.0  # how long the one reachability check per host may take
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
_unreachable: dict[str, str] = {}  # host -> why it cannot be reached; remembered for the process
_probe_lock = threading.Lock()


def env_int(name: str, default: int, minimum: int = 1) -> int:
    """The integer in environment variable ``name`` (``default`` when unset); a bad value is a UserError."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{name} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise UserError(f"{name} must be at least {minimum}, got {value}")
    return value


def offline() -> bool:
    """True when ``RESNET_TRACE_OFFLINE`` says so (1, true, yes, on; any case); unset, 0, false, no, off: False."""
    text = os.environ.get(OFFLINE, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UserError(f"{OFFLINE} must be one of 1, true, yes, on, 0, false, no, off; got {text!r}")


def data_dir() -> Path:
    """Where the torchvision datasets live: ``$RESNET_TRACE_DATA``, else ``data`` (set by whoever runs the server)."""
    return Path(os.environ.get("RESNET_TRACE_DATA", "").strip() or "data")


def max_trainings() -> int:
    """How many trainings may run at once on this server (the others wait their turn)."""
    return env_int("RESNET_TRACE_MAX_TRAININGS", 2)


def train_threads() -> int:
    """CPU threads of each training process: small nets train fastest on one, and cores stay free for tracing."""
    return env_int("RESNET_TRACE_TRAIN_THREADS", 1)


def max_run_mb() -> int:
    """Memory one training on this server may use (MB): a share that leaves room for everyone else."""
    return env_int("RESNET_TRACE_MAX_RUN_MB", 1500)


def max_run_s() -> int:
    """Wall time one training on this server may take (seconds); a hard cap ends it there."""
    return env_int("RESNET_TRACE_MAX_RUN_S", 600)


def machine_memory_mb() -> float | None:
    """This machine's memory available now (MemAvailable, MB), or None where /proc/meminfo is missing."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def download_blocked(host: str) -> str:
    """Why nothing can be downloaded from ``host`` ('' when it can): the offline switch, or no answer.

    The TCP probe (port 443, ``PROBE_TIMEOUT_S``) runs at most once per host and process; its
    failure is remembered, so an offline server never waits twice.
    """
    if offline():
        return f"downloads are switched off ({OFFLINE} is set)."
    with _probe_lock:
        if host not in _unreachable:
            _unreachable[host] = _probe(host)
        return _unreachable[host]


def _probe(host: str) -> str:
    """'' when ``host`` accepts a TCP connection on 443 within the timeout (DNS included), else why not."""
    answer: list[str] = []

    def connect() -> None:
        try:
            socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
            answer.append("")
        except OSError as error:
            answer.append(f"{host} cannot be reached ({one_line(error)}).")

    thread = threading.Thread(target=connect, daemon=True)  # getaddrinfo has no timeout of its own
    thread.start()
    thread.join(PROBE_TIMEOUT_S)
    return answer[0] if answer else f"{host} did not answer within {PROBE_TIMEOUT_S:.0f} s."


def mark_unreachable(host: str, why: str) -> None:
    """Remember that a download from ``host`` failed after the probe passed (the rest of the process skips it)."""
    with _probe_lock:
        _unreachable[host] = why
