"""The ``train`` subcommand: ``python -m resnet_core train --experiment degradation``.

On shapes, without ``--epochs``/``--steps``/``--no-bn``, it runs the budget of the experiment's
preset: ``--experiment degradation`` (plain-20, plain-56, ResNet-20, ResNet-56; He et al. 2016,
Fig. 6) or the default ``twins`` (``--depth 56 --compare``: ResNet-56 and its plain twin).
Text output is an epoch table per net; ``--json`` prints one object per epoch and net, then a
summary. A bad argument or a missing dataset: one ``error:`` line, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from resnet_core.data import DATASETS, MAX_SIZE, MIN_SIZE, DatasetUnavailable, load_dataset
from resnet_core.errors import UserError, one_line
from resnet_core.models import CIFAR_DEPTHS, SHORTCUTS, count_params
from resnet_core.settings import machine_memory_mb
from resnet_core.training import (
    DEGRADATION,
    DEVICES,
    EXPERIMENTS,
    OPTIMIZERS,
    TWINS,
    Record,
    TrainConfig,
    build_models,
    load_weights,
    pick_device,
    save_weights,
    train,
)
from resnet_core.training_budget import check
from resnet_core.training_report import TABLE_COLUMNS, degradation_verdict, epoch_table, net_label, summary

__all__ = ["FLAGS", "PRESET_OF", "add_parser", "config_from_args", "run_train"]

PRESET_OF = {"twins": TWINS, "degradation": DEGRADATION}  # --experiment -> its budget on shapes

# TrainConfig field -> the option that sets it, so the config's own messages name the option
FLAGS = {
    "dataset": "--dataset",
    "model": "--model",
    "experiment": "--experiment",
    "depth": "--depth",
    "shallow_depth": "--shallow-depth",
    "shortcut": "--shortcut",
    "fresh_data": "--fresh-data",
    "width": "--width",
    "epochs": "--epochs",
    "steps": "--steps",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "optimizer": "--optimizer",
    "image_size": "--image-size",
    "train_size": "--train-size",
    "val_size": "--val-size",
    "seed": "--seed",
    "device": "--device",
}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on ``subparsers``; its handler is ``run_train``."""
    parser = subparsers.add_parser("train", help="train ResNets (and their plain twins) and print epoch tables")
    parser.add_argument("--dataset", choices=DATASETS, default="shapes")
    parser.add_argument(
        "--model", choices=("cifar", "seed"), default="cifar", help="cifar: He et al. sec. 4.2"
    )
    parser.add_argument(
        "--experiment", choices=EXPERIMENTS, default="twins",
        help="twins: a ResNet (with --compare, its plain twin); degradation: plain and ResNet at two depths",
    )
    parser.add_argument(
        "--depth", type=int, default=TWINS.depth, help=f"6n+2: {', '.join(map(str, CIFAR_DEPTHS))}, ..."
    )
    parser.add_argument("--shallow-depth", type=int, default=None, metavar="D", help="degradation: the shallower nets")
    parser.add_argument(
        "--shortcut", choices=SHORTCUTS, default=None, help="A: zero-padded identity (the paper's), B: 1x1 conv"
    )
    parser.add_argument("--width", type=float, default=None, help="channel multiplier of the CIFAR ResNet")
    parser.add_argument(
        "--compare", action="store_true", help="also train the plain twin (no skips); degradation always does"
    )
    parser.add_argument("--no-bn", action="store_true", help="remove every BatchNorm")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, metavar="E")
    budget.add_argument("--steps", type=int, metavar="S")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    parser.add_argument("--image-size", type=int, default=None, metavar="PX", help=f"{MIN_SIZE} to {MAX_SIZE}")
    parser.add_argument("--train-size", type=int, default=None, metavar="N", help="training images per epoch")
    parser.add_argument(
        "--fresh-data", action=argparse.BooleanOptionalAction, default=None, help="new training shapes every epoch"
    )
    parser.add_argument("--val-size", type=int, default=None, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data-dir", default="", help="folder of the torchvision datasets (default: $RESNET_TRACE_DATA or data)"
    )
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest for small nets)")
    parser.add_argument("--init", metavar="PATH", help="twins: start the residual net from this state dict")
    parser.add_argument("--save", metavar="PATH", help="twins: save the residual net's state dict here (fp16)")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per epoch and net, then a summary"
    )
    parser.add_argument("--max-mb", type=float, default=None, metavar="MB",
                        help="refuse a run estimated above this memory (default: this machine's available memory)")
    parser.add_argument("--max-seconds", type=float, default=None, metavar="S",
                        help="refuse a run estimated above this wall time (default: no limit)")
    parser.set_defaults(func=run_train)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's config: the experiment's preset on shapes, overridden by every option given."""
    shapes = args.dataset == "shapes"
    base = PRESET_OF[args.experiment] if shapes else TrainConfig(dataset=args.dataset, image_size=32)
    if args.no_bn or args.epochs is not None or args.steps is not None:
        base = replace(base, steps=None)
    given = {
        "dataset": args.dataset,
        "model": args.model,
        "experiment": args.experiment,
        "depth": args.depth,
        "shallow_depth": args.shallow_depth,
        "shortcut": args.shortcut,
        "width": args.width,
        "batch_norm": not args.no_bn,
        "compare": args.compare if args.experiment == "twins" else None,  # degradation: both kinds, always
        "epochs": args.epochs,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "image_size": args.image_size,
        "train_size": args.train_size,
        "fresh_data": args.fresh_data,
        "val_size": args.val_size,
        "seed": args.seed,
        "data_dir": args.data_dir,
        "device": args.device,
    }
    return replace(base, **{key: value for key, value in given.items() if value is not None})


def format_tables(records: list[Record], num_classes: int, models: list[str], depth: int | None = None) -> str:
    """The epoch tables of ``models`` as aligned text (the observation last, unpadded)."""
    lines = []
    for model in models:
        table = epoch_table(records, model, num_classes, depth)
        rows = [TABLE_COLUMNS, *(tuple("–" if v is None else str(v) for v in row.values()) for row in table)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS) - 1)]
        lines += ["", f"{net_label(model, depth)}:"]
        lines += ["  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]) for row in rows]
    return "\n".join(lines)


def run_train(args: argparse.Namespace) -> int:
    """The ``train`` subcommand; returns the exit status (a bad argument is a UserError)."""
    config = config_from_args(args)
    config.validate(FLAGS)
    if args.threads < 1:
        raise UserError(f"--threads must be at least 1, got {args.threads}")
    if (args.init or args.save) and config.experiment != "twins":
        raise UserError("--init and --save work with --experiment twins only (one residual net)")
    pick_device(config.device)  # a missing GPU is named now, not after the data is drawn
    _check_budget(config, args)
    if args.save:
        _check_writable(Path(args.save))
    torch.set_num_threads(args.threads)  # this process is the CLI's own: process-wide is right here
    started = time.perf_counter()
    try:
        data = load_dataset(config.dataset, config.image_size, config.train_size, config.val_size, config.seed,
                            config.data_dir)
    except DatasetUnavailable as error:
        raise UserError(f"{error}: put its files in {error.folder}, or connect to the internet") from None
    models = build_models(config, len(data[0].classes))
    if args.init:
        load_weights(models["resnet"], args.init)
    records = []
    for record in train(config, models=models, data=data):
        records.append(record)
        if args.json and record.kind == "epoch":
            keys = ("model", "epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc")
            print(json.dumps({key: getattr(record, key) for key in keys}), flush=True)
    result = summary(records, time.perf_counter() - started, {name: count_params(m) for name, m in models.items()})
    if args.save:
        save_weights(models["resnet"], args.save, half=True)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_tables(records, len(data[0].classes), list(models), config.depth))
        for sentence in degradation_verdict(records, len(data[0].classes)):
            print(f"\n{sentence}")
        print(f"\nseconds: {result['summary']['seconds']}")
    return 0


def _check_budget(config: TrainConfig, args: argparse.Namespace) -> None:
    """Refuse a run over --max-mb (default: the machine's available memory) or --max-seconds."""
    for flag, value in (("--max-mb", args.max_mb), ("--max-seconds", args.max_seconds)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserError(f"{flag} must be a positive number, got {value}")
    if args.max_mb is not None:
        max_mb, memory = args.max_mb, "--max-mb is {}"
    else:
        max_mb, memory = machine_memory_mb(), "this machine has {} available (--max-mb sets another limit)"
    check(config, max_mb, args.max_seconds, args.threads, FLAGS, (memory, "--max-seconds is {}"), worker=False)


def _check_writable(path: Path) -> None:
    """Refuse a --save path that cannot be written before training, not after it."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"--save {path} is a folder; give a file name such as {path / 'weights.pt'}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UserError(f"--save {path} cannot be written: {folder} is not a writable folder "
                        f"({error.strerror or one_line(error)})") from None
