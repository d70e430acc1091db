"""What a training will cost, known before it starts: peak memory and wall time from its config.

A shared server must refuse a run that would take every learner's memory or hold a training
slot for an hour, before it starts. :func:`estimate` counts, without allocating anything (a
forward pass on PyTorch's ``meta`` device), the activations each image keeps for the backward
pass and the multiply-accumulates of every layer; adds the data in memory, the parameters, their
gradients and the optimiser's state; and turns work into seconds with this machine's measured
speed (:func:`machine_speed`). :func:`check` refuses a config over the limits with one line that
names the largest value that would fit.

Memory is the run's own, on top of the worker process's fixed cost (Python and torch, about
0.7 GB resident with the CUDA build of torch): measured peaks are within a factor of 2 of the
estimate (``tests/test_training_budget.py``), and a worker cannot grow past its limit anyway
(``training_worker`` caps its heap with ``RLIMIT_DATA``).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from resnet_core.errors import UserError, one_line
from resnet_core.models import is_residual_block
from resnet_core.training import TrainConfig, build_nets_on_meta, total_steps

__all__ = ["ACTIVATION_OVERHEAD", "Budget", "Speed", "check", "estimate", "machine_speed"]

ACTIVATION_OVERHEAD = 1.6  # saved tensors per counted output, plus backward's transient buffers (measured)
FIXED_MB = 40.0  # allocator and optimizer bookkeeping of any run (measured on the tiniest config)
START_S = 4.0  # the worker process starting and importing torch
_MB = 1024 * 1024
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# fields that change nothing about the nets' shapes: left out of the key of the counts' cache
_NOT_ARCHITECTURE = dict(batch_size=1, epochs=1, steps=None, train_size=1, val_size=1, optimizer="sgd", lr=0.1,
                         momentum=0.9, weight_decay=0.0, warmup_steps=0, seed=0, grad_every=1, data_dir="",
                         device="auto")


@dataclass(frozen=True)
class Budget:
    """The estimated cost of one run."""

    memory_mb: float  # peak memory of the run itself (the worker's fixed cost not included)
    seconds: float  # wall time from Train to the last record
    data_mb: float  # the pictures held in memory
    model_mb: float  # parameters, gradients and optimiser state of every net
    activations_mb: float  # what one step keeps for its backward pass (the largest net)
    macs_per_image: int  # multiply-accumulates of one forward pass, summed over the nets


@dataclass(frozen=True)
class _Counts:
    activations: int  # elements kept per image for backward (conv, BatchNorm and block outputs)
    macs: int  # multiply-accumulates per image, forward
    params: int
    layers: int  # modules with work to do (conv, BatchNorm, linear)


def _count(model: nn.Module, image_size: int) -> _Counts:
    """Activations and MACs of one image through ``model``, measured on the meta device (no memory used)."""
    totals = {"activations": 0, "macs": 0, "layers": 0}

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        totals["layers"] += isinstance(module, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            totals["macs"] += out.numel() * per_output
            totals["activations"] += out.numel()
        elif isinstance(module, nn.Linear):
            totals["macs"] += out.numel() * module.in_features
            totals["activations"] += out.numel()
        elif isinstance(module, nn.BatchNorm2d) or is_residual_block(module):
            totals["activations"] += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():  # eval mode and no graph: the same shapes, half the time on meta tensors
            model.eval()(torch.empty(1, 3, image_size, image_size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return _Counts(totals["activations"], totals["macs"], sum(p.numel() for p in model.parameters()),
                   totals["layers"])


# Two small steps: one dominated by per-layer overhead, one by arithmetic (see machine_speed).
_PROBES = (TrainConfig(depth=20, width=0.5, image_size=16, batch_size=32, compare=False),
           TrainConfig(depth=8, width=1.0, image_size=32, batch_size=64, compare=False))
_SPEED_PROBE = """
import json, sys, time, torch
from resnet_core.data import shape_image
from resnet_core.training import TrainConfig, build_models
from torch.nn import functional as F
torch.set_num_threads(int(sys.argv[1]))
steps = []
for fields in json.loads(sys.argv[2]):
    config = TrainConfig(**fields)
    model = build_models(config, 10)["resnet"]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(config.batch_size, 3, config.image_size, config.image_size)
    y = torch.randint(0, 10, (config.batch_size,))
    times = []
    for _ in range(6):
        tick = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - tick)
    steps.append(min(times[1:]))
tick = time.perf_counter()
for label in range(10):
    shape_image(label, 32, index=label)
print(json.dumps({"steps": steps, "pixel": (time.perf_counter() - tick) / (10 * 32 * 32)}))
"""


@dataclass(frozen=True)
class Speed:
    """How fast this machine trains, measured (machine_speed)."""

    macs_per_s: float  # multiply-accumulates per second of forward + backward (counted as 3x forward)
    layer_s: float  # fixed seconds per layer per step (Python and kernel launches), whatever its size
    pixel_s: float  # seconds to draw one pixel of a shapes picture


@functools.lru_cache(maxsize=4)
def machine_speed(threads: int = 1) -> Speed:
    """This machine's training speed on ``threads`` CPU threads, measured once per process.

    The probe runs in a child process, because torch's thread count is process-wide and the
    server's must not change: the fastest of five steps of two small CIFAR ResNets (one whose
    time is mostly per-layer overhead, one mostly arithmetic) give the two unknowns of
    ``step = layers * layer_s + 3 * MACs * batch / macs_per_s``; ten shapes give the drawing cost.
    """
    fields = json.dumps([asdict(probe) for probe in _PROBES])
    done = subprocess.run([sys.executable, "-c", _SPEED_PROBE, str(max(1, threads)), fields], capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(_PACKAGE_ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"the speed probe failed: {one_line(RuntimeError(done.stderr))}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    (a, b), (c, d) = ((n.layers, 3 * n.macs * p.batch_size) for p in _PROBES for n in _count_nets(p))
    (t1, t2) = measured["steps"]
    determinant = a * d - b * c
    layer_s = max((t1 * d - t2 * b) / determinant, 0.0)
    work_s = max((a * t2 - c * t1) / determinant, 1e-12)  # seconds per multiply-accumulate
    return Speed(1 / work_s, layer_s, measured["pixel"])


def _count_nets(config: TrainConfig) -> tuple[_Counts, ...]:
    """Counts of every net ``config`` trains (cached: a budget search asks for the same nets many times)."""
    return _count_at(replace(config, **_NOT_ARCHITECTURE, image_size=16), config.image_size)


@functools.lru_cache(maxsize=512)
def _count_at(architecture: TrainConfig, image_size: int) -> tuple[_Counts, ...]:
    # a private copy each time: the count hangs hooks on it, and other sessions count at the same moment
    return tuple(_count(copy.deepcopy(model), image_size) for model in _meta_nets(architecture))


@functools.lru_cache(maxsize=32)
def _meta_nets(architecture: TrainConfig) -> tuple[nn.Module, ...]:
    """The nets of ``architecture`` on the meta device, built once (never used directly: see _count_at)."""
    return tuple(build_nets_on_meta(architecture).values())


def estimate(config: TrainConfig, threads: int = 1, worker: bool = True) -> Budget:
    """Peak memory and wall time of training ``config`` on ``threads`` CPU threads (in a worker process)."""
    counts = _count_nets(config)
    pictures = config.train_size + config.val_size
    data_mb = pictures * 3 * config.image_size**2 / _MB
    states = 4 if config.optimizer == "adam" else 3  # weights, gradients, and 2 (Adam) or 1 (momentum)
    model_mb = sum(c.params for c in counts) * 4 * states / _MB
    activations_mb = max(c.activations for c in counts) * config.batch_size * 4 * ACTIVATION_OVERHEAD / _MB
    speed = machine_speed(threads)
    macs = sum(c.macs for c in counts)
    layers = sum(c.layers for c in counts)
    steps = total_steps(config, config.train_size)
    epochs = math.ceil(steps / max(1, config.train_size // config.batch_size))
    epochs_drawn = epochs if config.fresh_data else 1  # fresh data: a new training set every epoch
    drawn = (config.train_size * epochs_drawn + config.val_size) * config.image_size**2
    drawn *= config.dataset == "shapes"
    seconds = (
        START_S * worker
        + drawn * speed.pixel_s
        + steps * (layers * speed.layer_s + 3 * macs * config.batch_size / speed.macs_per_s)
        + epochs * (layers * speed.layer_s + macs * config.val_size / speed.macs_per_s)
    )
    return Budget(FIXED_MB + data_mb + model_mb + activations_mb, seconds, data_mb, model_mb, activations_mb, macs)


def check(
    config: TrainConfig,
    max_mb: float | None,
    max_s: float | None,
    threads: int = 1,
    labels: dict[str, str] | None = None,
    limits: tuple[str, str] = ("this server allows {} per training", "this server allows {} per training"),
    worker: bool = True,
) -> Budget:
    """The estimate, or a UserError naming the limit and the largest batch size, image size or epochs that fit.

    ``limits`` says where the memory and the time limit come from, in the refusal's words.
    """
    name = (labels or {}).get

    def cost(c: TrainConfig) -> Budget:
        return estimate(c, threads, worker)

    budget = cost(config)
    if max_mb is not None and budget.memory_mb > max_mb:
        fix = _largest(config, "batch_size", 1, config.batch_size, lambda c: cost(c).memory_mb <= max_mb)
        hint = (f"use a {name('batch_size', 'batch size')} of at most {fix}" if fix else
                _largest_size_hint(config, max_mb, cost, name))
        raise UserError(f"this training needs about {budget.memory_mb:,.0f} MB of memory and "
                        f"{limits[0].format(f'{max_mb:,.0f} MB')}: {hint}")
    if max_s is not None and budget.seconds > max_s:
        unit = "epochs" if config.steps is None else "steps"
        fix = _largest(config, unit, 1, getattr(config, unit), lambda c: cost(c).seconds <= max_s)
        hint = (f"use at most {fix} {name(unit, unit)}" if fix else
                f"choose a smaller {name('image_size', 'image size')}, {name('depth', 'depth')} or "
                f"{name('train_size', 'training images')}")
        raise UserError(f"this training would take about {_duration(budget.seconds)} and "
                        f"{limits[1].format(_duration(max_s))}: {hint}")
    return budget


def _largest(config: TrainConfig, field: str, low: int, high: int, fits) -> int | None:
    """The largest value of ``field`` in [low, high] for which ``fits`` holds (it only gets harder upwards)."""
    if not fits(replace(config, **{field: low})):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(replace(config, **{field: middle})):
            low = middle
        else:
            high = middle - 1
    return low


def _largest_size_hint(config: TrainConfig, max_mb: float, cost, name) -> str:
    small = replace(config, batch_size=1)
    size = _largest(small, "image_size", 16, config.image_size, lambda c: cost(c).memory_mb <= max_mb)
    if size is None:
        return f"choose a smaller {name('depth', 'depth')} or {name('width', 'width')}"
    return f"use a {name('batch_size', 'batch size')} of 1 and an {name('image_size', 'image size')} of at most {size}"


def _duration(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} minutes"
