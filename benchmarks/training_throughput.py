"""Engine throughput against a bare torch loop: same model, batch, data and optimizer, one process.

    python benchmarks/training_throughput.py [--depth 56] [--steps 30] [--repeats 3] [--threads 1]

The engine runs with everything the page uses switched on: a record per step, validation at the
end, and the gradient norms (block inputs, conv weights) each ``grad_every`` steps. Prints medians
and the ratio.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from dataclasses import replace

import torch
from torch.nn import functional as F

from resnet_core.data import load_dataset, to_input
from resnet_core.training import TWINS, build_models, pick_device, train


def bare_loop(config, data, steps: int) -> float:
    """Samples per second of the minimal loop: forward, loss, backward, step."""
    device = pick_device(config.device)
    model = build_models(config, 10)["resnet"].to(device).train()
    fused = device.type in ("cpu", "cuda")  # as the engine's optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    train_split = data[0]
    order = torch.randperm(len(train_split), generator=torch.Generator().manual_seed(config.seed))
    started = time.perf_counter()
    for step in range(steps):
        start = (step * config.batch_size) % (len(train_split) - config.batch_size + 1)
        index = order[start : start + config.batch_size]
        x = to_input(train_split.images[index].to(device), config.image_size)
        y = train_split.labels[index].to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * config.batch_size / (time.perf_counter() - started)


def engine(config, data, steps: int) -> float:
    """Samples per second through :func:`train` with records, gradient norms and validation on."""
    started = time.perf_counter()
    for _ in train(replace(config, steps=steps), data=data):
        pass
    return steps * config.batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=TWINS.depth)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = replace(TWINS, depth=args.depth, compare=False, val_size=64)
    data = load_dataset("shapes", config.image_size, config.train_size, config.val_size, config.seed)
    engine(config, data, 3), bare_loop(config, data, 3)  # warm-up
    bare, ours = [], []
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits both alike
        bare.append(bare_loop(config, data, args.steps))
        ours.append(engine(config, data, args.steps))
    b, e = statistics.median(bare), statistics.median(ours)
    print(f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  device={pick_device()}")
    print(f"model: CIFAR ResNet-{config.depth} width {config.width}, {config.image_size} px, batch {config.batch_size}")
    print(f"bare torch loop: {b:8.1f} samples/s (median of {args.repeats})")
    print(f"engine:          {e:8.1f} samples/s (records every step, grad norms every {config.grad_every})")
    print(f"ratio engine/bare: {e / b:.2f}")


if __name__ == "__main__":
    main()
