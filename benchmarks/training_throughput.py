"""Engine throughput against a bare torch loop: the same work on both sides, interleaved, paired.

    python -m benchmarks.training_throughput [--depth 56] [--steps 30] [--repeats 9] [--threads 1]

Both sides train a freshly built copy of the same net (built outside the timing) for the same
steps on the same batches with the same fused Adam, then validate once on the same images. The
engine adds what the page uses: a record per step and the gradient norms (block inputs, conv
weights) each ``grad_every`` steps; that difference is what the ratio measures. Each repeat runs
both, in alternating order; the ratio is taken within each repeat and reported as median and range.
"""

from __future__ import annotations

import argparse
import platform
from dataclasses import replace

import torch
from torch.nn import functional as F

from benchmarks.timing import interleaved, paired_ratios, summary
from resnet_core.data import load_dataset, to_input
from resnet_core.training import TWINS, build_models, evaluate, pick_device, train


def bare_loop(config, data, models) -> None:
    """The minimal loop: forward, loss, backward, step; then one validation pass."""
    device = pick_device(config.device)
    model = models["resnet"].to(device).train()
    fused = device.type in ("cpu", "cuda")  # as the engine's optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    train_split = data[0]
    order = torch.randperm(len(train_split), generator=torch.Generator().manual_seed(config.seed))
    for step in range(config.steps):
        start = (step * config.batch_size) % (len(train_split) - config.batch_size + 1)
        index = order[start : start + config.batch_size]
        x = to_input(train_split.images[index].to(device), config.image_size)
        y = train_split.labels[index].to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    evaluate(model, data[1], config.image_size, device, config.batch_size)
    if device.type == "cuda":
        torch.cuda.synchronize()


def engine(config, data, models) -> None:
    """The same steps and validation through :func:`train`, with its records and gradient norms."""
    for _ in train(config, models=models, data=data):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=TWINS.depth)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = replace(TWINS, depth=args.depth, compare=False, val_size=64, steps=args.steps)
    data = load_dataset("shapes", config.image_size, config.train_size, config.val_size, config.seed)
    fresh = {}  # a new copy of the net before every call, built outside the timing

    def timed(run):
        def call() -> None:
            run(config, data, fresh.pop("models"))
            fresh["models"] = build_models(config, 10)

        return call

    fresh["models"] = build_models(config, 10)
    seconds = interleaved({"bare": timed(bare_loop), "engine": timed(engine)}, args.repeats)
    samples = config.steps * config.batch_size
    bare = [samples / s for s in seconds["bare"]]
    ours = [samples / s for s in seconds["engine"]]
    ratios = paired_ratios(ours, bare)
    print(f"# {platform.processor() or platform.machine()} · device {pick_device()} · {args.threads} thread(s) · "
          f"CIFAR ResNet-{config.depth} width {config.width}, {config.image_size} px, batch {config.batch_size}, "
          f"{config.steps} steps + validation of {config.val_size} · {args.repeats} interleaved repeats")
    print(f"bare torch loop: {summary(bare, 1)} samples/s (median, min–max)")
    print(f"engine:          {summary(ours, 1)} samples/s (records every step, gradient norms every "
          f"{config.grad_every} steps)")
    print(f"engine / bare, paired per repeat: {summary(ratios)}")


if __name__ == "__main__":
    main()
