"""Train residual networks and their plain twins side by side, yielding records as they learn.

Two experiments (He et al. 2016, "Deep Residual Learning for Image Recognition"): ``twins``
trains one ResNet and its plain twin; ``degradation`` trains plain and residual nets at two
depths (plain-20, plain-56, ResNet-20, ResNet-56, as in the paper's Fig. 6), where the deeper
plain net ends with the *higher* training error and the deeper ResNet does not. A plain twin is
identical to its ResNet except for the skip connections: it starts from the ResNet's weights for
every layer they share (all of them with option A shortcuts), and every net sees the same batches
in the same order, one step each in turn. :func:`train` is a generator of :class:`Record`
objects, so a page can draw curves while the nets learn, the CLI can print tables, and a test
can stop after a few steps. Pure torch: no streamlit here.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from resnet_core.data import (
    DATASETS,
    Split,
    check_image_size,
    load_dataset,
    num_classes,
    shapes_split,
    to_input,
)
from resnet_core.errors import Interrupted, UserError, check_stop
from resnet_core.models import (
    SHORTCUTS,
    CifarResNetConfig,
    check_cifar_depth,
    cifar_resnet,
    init_weights,
    residual_blocks,
    seed_resnet,
)

__all__ = [
    "DEGRADATION",
    "DEVICES",
    "EXPERIMENTS",
    "OPTIMIZERS",
    "PRESETS",
    "TWINS",
    "Record",
    "TrainConfig",
    "build_models",
    "build_nets_on_meta",
    "conv_layer_names",
    "evaluate",
    "gradient_norms",
    "learning_rate",
    "load_weights",
    "nets",
    "pick_device",
    "save_weights",
    "steps_per_epoch",
    "total_steps",
    "train",
    "twin_of",
]

OPTIMIZERS = ("sgd", "adam")
DEVICES = ("auto", "cpu", "cuda", "mps")
EXPERIMENTS = ("twins", "degradation")


@dataclass(frozen=True)
class TrainConfig:
    """Everything one comparison depends on; the page builds it from widgets, the CLI from arguments."""

    dataset: str = "shapes"  # shapes, cifar10, fashionmnist or mnist
    model: str = "cifar"  # "cifar": He et al. 2016 sec. 4.2 (depth 6n+2); "seed": the trace page's model
    depth: int = 20  # layers of the CIFAR ResNet: 6n+2 (models.CIFAR_DEPTHS lists the usual ones)
    width: float = 1.0  # multiplier on the 16/32/64 channels of the CIFAR ResNet
    batch_norm: bool = True  # False removes every BatchNorm (the vanishing-gradient demo)
    compare: bool = True  # also train the plain twin of each ResNet (same layers, no skip connections)
    experiment: str = "twins"  # "twins": nets of `depth`; "degradation": also of `shallow_depth` (He et al. Fig. 6)
    shallow_depth: int = 20  # the shallower nets of the degradation experiment: 6n+2, below `depth`
    shortcut: str = "A"  # where channels double: "A" zero-pads the identity (the paper's CIFAR nets), "B" projects
    image_size: int = 32  # pixels per side fed to the nets (16 to 224)
    train_size: int = 5000  # training images per epoch (shapes are drawn, the others subsampled)
    fresh_data: bool = False  # draw new training shapes every epoch: an unlimited set, nothing to memorise
    val_size: int = 1000  # validation images
    batch_size: int = 64  # images per step, the same batch for every net
    epochs: int = 5  # passes over the training set, unless steps is set
    steps: int | None = None  # total steps per net; overrides epochs when set
    optimizer: str = "sgd"  # "sgd" (with momentum, as in the paper) or "adam"
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 1e-4  # L2 penalty, as in the paper
    warmup_steps: int = 0  # linear warm-up before the cosine decay
    seed: int = 0  # weights, data and batch order all follow from it
    grad_every: int = 10  # record the gradient norms (block inputs, relative conv weights) each this many steps
    data_dir: str = ""  # where cifar10/fashionmnist/mnist files live; "" = the server's (settings.data_dir)
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu

    def validate(self, labels: dict[str, str] | None = None) -> None:
        """Raise a UserError naming the first field out of range, as ``labels`` calls it (CLI flag, widget label)."""
        name = (labels or {}).get
        if self.dataset not in DATASETS:
            raise UserError(f"{name('dataset', 'dataset')} must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.model not in ("cifar", "seed"):
            raise UserError(f"{name('model', 'model')} must be cifar or seed, got {self.model!r}")
        if self.model == "cifar":
            check_cifar_depth(self.depth, name("depth", "depth"))
        if self.experiment not in EXPERIMENTS:
            raise UserError(
                f"{name('experiment', 'experiment')} must be one of {', '.join(EXPERIMENTS)}, got {self.experiment!r}"
            )
        if self.experiment == "degradation" and self.model != "cifar":
            raise UserError(f"the degradation experiment needs {name('model', 'model')} cifar (two depths)")
        if self.experiment == "degradation":
            check_cifar_depth(self.shallow_depth, name("shallow_depth", "shallow depth"))
            if self.shallow_depth >= self.depth:
                raise UserError(
                    f"{name('shallow_depth', 'shallow depth')} ({self.shallow_depth}) must be smaller than "
                    f"{name('depth', 'depth')} ({self.depth})"
                )
        if self.shortcut not in SHORTCUTS:
            raise UserError(f"{name('shortcut', 'shortcut')} must be A or B, got {self.shortcut!r}")
        if self.fresh_data and self.dataset != "shapes":
            raise UserError(
                f"{name('fresh_data', 'fresh data')} needs the shapes dataset (the others are finite), "
                f"got {self.dataset}"
            )
        check_image_size(self.image_size, name("image_size", "image size"))
        for key in ("epochs", "steps", "batch_size", "train_size", "val_size", "grad_every"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise UserError(f"{name(key, key.replace('_', ' '))} must be at least 1, got {value}")
        if self.batch_size > self.train_size:
            raise UserError(
                f"{name('batch_size', 'batch size')} ({self.batch_size}) is larger than "
                f"{name('train_size', 'training images')} ({self.train_size})"
            )
        for key in ("lr", "width"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise UserError(f"{name(key, key)} must be a positive number, got {value}")
        for key in ("momentum", "weight_decay"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise UserError(f"{name(key, key.replace('_', ' '))} must be zero or more, got {value}")
        if self.warmup_steps < 0:
            raise UserError(f"{name('warmup_steps', 'warm-up steps')} must be zero or more, got {self.warmup_steps}")
        if self.seed < 0:
            raise UserError(f"{name('seed', 'seed')} must be zero or more, got {self.seed}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"{name('optimizer', 'optimizer')} must be sgd or adam, got {self.optimizer!r}")
        if self.device not in DEVICES:
            raise UserError(f"{name('device', 'device')} must be one of {', '.join(DEVICES)}, got {self.device!r}")

    @property
    def num_classes(self) -> int:
        """Classes of the dataset, known without loading it."""
        return num_classes(self.dataset)


# ResNet-56 against plain-56 in under a minute on a 2-core laptop CPU (480 images: partly memorised).
TWINS = TrainConfig(
    dataset="shapes",
    depth=56,
    width=0.5,
    image_size=16,
    train_size=480,
    val_size=200,
    batch_size=32,
    epochs=12,
    optimizer="adam",
    lr=0.001,
)

# He et al. 2016, Fig. 6 on one thread of a 2-core CPU in about a minute: plain-20, plain-56,
# ResNet-20 and ResNet-56 on the same batches of fresh shapes, 384 steps each (the budget search
# and benchmarks/degradation.py, seeds 0-2, are in the README). Adam: with SGD (0.05 to 0.2)
# ResNet-56 fell far behind ResNet-20 in this budget.
DEGRADATION = TrainConfig(
    dataset="shapes",
    experiment="degradation",
    depth=56,
    shallow_depth=20,
    width=0.5,
    image_size=16,
    train_size=1024,
    fresh_data=True,
    val_size=300,
    batch_size=32,
    epochs=12,
    optimizer="adam",
    lr=0.004,
    warmup_steps=20,
)

PRESETS: dict[str, TrainConfig] = {
    "Degradation: plain-20/56 and ResNet-20/56 (He et al. Fig. 6; CPU, about 1.5 minutes)": DEGRADATION,
    "ResNet-56 against its plain twin (CPU, about a minute)": TWINS,
    "Vanishing gradients (no BatchNorm)": replace(TWINS, batch_norm=False, depth=32, optimizer="sgd", lr=0.01),
    # The paper's own recipe (section 4.2): SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128; fewer epochs.
    "Degradation on CIFAR-10 (GPU)": TrainConfig(
        dataset="cifar10",
        experiment="degradation",
        depth=56,
        shallow_depth=20,
        image_size=32,
        train_size=50000,
        val_size=10000,
        batch_size=128,
        epochs=30,
        warmup_steps=400,
    ),
}


@dataclass
class Record:
    """One observation of one net: a training step (``kind="step"``) or an epoch summary (``"epoch"``)."""

    kind: str  # "step" or "epoch"
    model: str  # the net's key from nets(): "resnet"/"plain" (twins), "plain-20" ... "resnet-56" (degradation)
    step: int  # steps done so far (1-based)
    epoch: int  # epoch this step belongs to (1-based)
    train_loss: float  # this batch's loss, or the epoch's mean for an epoch record
    train_acc: float  # this batch's accuracy, or the epoch's mean (0..1)
    lr: float  # learning rate used for this step
    samples_per_s: float  # images per second through this net (forward, backward, update)
    seconds: float  # wall time since the run started
    val_loss: float | None = None  # validation loss (epoch records only)
    val_acc: float | None = None  # validation accuracy (epoch records only)
    grad_norms: dict[str, float] | None = field(default=None)  # conv layer -> |dL/dW| / |W| (relative)
    input_grad_norms: dict[str, float] | None = field(default=None)  # residual block -> |dL/dx| at its input

    def to_dict(self) -> dict:
        """The record as plain JSON-ready values."""
        return asdict(self)


def pick_device(name: str = "auto") -> torch.device:
    """``cuda`` when present, then ``mps``, else ``cpu``; a named device that is missing is a UserError."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device cuda was asked for, but this machine has no CUDA GPU (use auto or cpu)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise UserError("device mps was asked for, but this machine has no Apple GPU (use auto or cpu)")
    if name != "auto":
        if name not in DEVICES:
            raise UserError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def nets(config: TrainConfig) -> dict[str, tuple[int, bool]]:
    """Every net the run trains, by model key, as ``(depth, skip)``: plain nets first, shallow first.

    ``twins``: ``resnet`` and (with ``compare``) ``plain``. ``degradation``: ``plain-20``,
    ``plain-56``, ``resnet-20``, ``resnet-56`` for ``shallow_depth=20, depth=56``.
    """
    kinds = (False, True) if config.compare else (True,)
    if config.experiment == "twins":
        return {("resnet" if skip else "plain"): (config.depth, skip) for skip in reversed(kinds)}
    depths = (config.shallow_depth, config.depth)
    return {f"{'resnet' if skip else 'plain'}-{depth}": (depth, skip) for skip in kinds for depth in depths}


def twin_of(key: str) -> str:
    """The model key of the same net with the skips switched: ``plain-56`` <-> ``resnet-56``."""
    kind, dash, depth = key.partition("-")
    return ("plain" if kind == "resnet" else "resnet") + dash + depth


def _build(config: TrainConfig, num_classes: int, depth: int, skip: bool) -> nn.Module:
    if config.model == "seed":
        return seed_resnet(num_classes, skip=skip, batch_norm=config.batch_norm)
    if config.model == "cifar":
        cifar = CifarResNetConfig(depth, num_classes, skip, config.batch_norm, config.width, config.shortcut)
        return cifar_resnet(cifar)
    raise UserError(f"unknown model {config.model!r}; choose cifar or seed")


def build_nets_on_meta(config: TrainConfig) -> dict[str, nn.Module]:
    """The nets ``config`` trains (:func:`nets`), on PyTorch's meta device: shapes without memory, for budgets."""
    with torch.device("meta"):
        return {key: _build(config, config.num_classes, depth, skip) for key, (depth, skip) in nets(config).items()}


def build_models(config: TrainConfig, num_classes: int) -> dict[str, nn.Module]:
    """Every net of :func:`nets`; each plain net starts from its ResNet's weights.

    Each ResNet's weights come from a generator seeded with ``config.seed`` that belongs to this
    call, never from torch's global one: runs built at the same moment in other threads cannot
    change them, and ResNet-56 starts the same in both experiments.
    """
    residual = {
        depth: init_weights(_build(config, num_classes, depth, skip=True), torch.Generator().manual_seed(config.seed))
        for depth, _ in nets(config).values()
    }
    models = {}
    for key, (depth, skip) in nets(config).items():
        if skip:
            models[key] = residual[depth]
            continue
        plain = _build(config, num_classes, depth, skip=False)
        # Every layer the twins share starts equal: all of them with option A; B adds projections.
        plain.load_state_dict(residual[depth].state_dict(), strict=False)
        models[key] = plain
    return models


def conv_layer_names(model: nn.Module) -> list[str]:
    """Qualified names of every conv layer, input to output (projection shortcuts included)."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def gradient_norms(model: nn.Module) -> dict[str, float]:
    """Each conv layer's |dL/dW| / |W| after ``backward``, input to output.

    Relative, so layers of different sizes compare: the fraction of its size a plain gradient
    step would change the layer by.
    """
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    norms = torch.stack([m.weight.grad.detach().norm() / m.weight.detach().norm() for _, m in convs])
    return {name: norm for (name, _), norm in zip(convs, norms.tolist(), strict=True)}  # one sync for all


@contextlib.contextmanager
def _block_input_grads(model: nn.Module, norms: dict[str, Tensor]) -> Iterator[None]:
    """While open, each forward pass puts |dL/dx| of every residual block's input x into ``norms`` on backward.

    In a ResNet x_L = x_l + sum of F over the blocks between, so dL/dx_l = dL/dx_L (1 + d(sum F)/dx_l):
    the gradient reaches every block input directly (He et al. 2016, "Identity Mappings in Deep
    Residual Networks", eq. 5; exact without the ReLU after each addition). A plain net's block
    input has only the product of its layers' Jacobians.
    """

    def watch(name: str) -> Callable[[nn.Module, tuple[Tensor, ...]], None]:
        def before_block(module: nn.Module, args: tuple[Tensor, ...]) -> None:
            if args[0].requires_grad:
                args[0].register_hook(lambda grad: norms.__setitem__(name, grad.detach().norm()))

        return before_block

    handles = [block.register_forward_pre_hook(watch(name)) for name, block in residual_blocks(model)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def steps_per_epoch(config: TrainConfig, train_size: int) -> int:
    """Full batches per pass over ``train_size`` images (the last partial batch is dropped)."""
    return max(1, train_size // config.batch_size)


def total_steps(config: TrainConfig, train_size: int) -> int:
    """Steps per net for the whole run: ``steps`` when set, else ``epochs`` full passes."""
    return config.steps if config.steps is not None else config.epochs * steps_per_epoch(config, train_size)


def learning_rate(config: TrainConfig, step: int, total: int) -> float:
    """Linear warm-up to ``lr``, then cosine decay to zero at ``total`` (``step`` is 0-based)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, total - config.warmup_steps)
    return config.lr * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    image_size: int,
    device: torch.device,
    batch_size: int = 256,
    stop: threading.Event | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``split`` in eval mode (``stop`` checked between batches)."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(split), batch_size):
        check_stop(stop)
        x = to_input(split.images[start : start + batch_size].to(device), image_size)
        y = split.labels[start : start + batch_size].to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return loss_sum / len(split), correct / len(split)


_FUSED_DEVICES = ("cpu", "cuda")  # where torch has one-kernel optimizers for every parameter at once


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    # Fused: on one CPU thread the default per-tensor loop cost 6 ms a step for a 56-layer net, fused 0.8 ms.
    fused = next(model.parameters()).device.type in _FUSED_DEVICES
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, fused=fused
        )
    raise ValueError(f"unknown optimizer {config.optimizer!r}; choose sgd or adam")


def _step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    y: Tensor,
    want_norms: bool,
    stop: threading.Event | None = None,
) -> tuple[float, float, dict[str, float] | None, dict[str, float] | None]:
    """One optimizer step; returns the batch loss and accuracy and (when asked) the gradient norms.

    The norms are each conv layer's relative weight gradient and |dL/dx| at each residual block's
    input, in forward order. ``stop`` is checked between forward and backward and before the update.
    """
    inputs: dict[str, Tensor] = {}
    with _block_input_grads(model, inputs) if want_norms else contextlib.nullcontext():
        logits = model(x)
    loss = F.cross_entropy(logits, y)
    check_stop(stop)
    optimizer.zero_grad()  # set_to_none, torch's default
    loss.backward()
    check_stop(stop)
    norms = gradient_norms(model) if want_norms else None
    input_norms = None
    if want_norms:
        names = [name for name, _ in residual_blocks(model) if name in inputs]  # forward order
        input_norms = dict(zip(names, torch.stack([inputs[n] for n in names]).tolist(), strict=True))
    optimizer.step()
    correct = (logits.detach().argmax(1) == y).sum()
    return loss.item(), correct.item() / len(y), norms, input_norms


def train(
    config: TrainConfig,
    stop: threading.Event | None = None,
    models: dict[str, nn.Module] | None = None,
    data: tuple[Split, Split] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> Iterator[Record]:
    """Train the nets of ``config`` (:func:`nets`) and yield a step record per net per step, an epoch record per epoch.

    ``stop`` ends the run once set, whatever it is doing: it is checked before every picture drawn,
    between forward and backward, before each update and between validation batches. Pass
    ``models`` (from :func:`build_models`) to keep the trained nets, and ``data`` to reuse splits
    already loaded. ``on_phase`` hears "preparing data" and then "training", for a status line.
    """
    try:
        yield from _train(config, stop, models, data, on_phase)
    except Interrupted:
        return


@contextlib.contextmanager
def _stop_checks(models: dict[str, nn.Module], stop: threading.Event | None) -> Iterator[None]:
    """Check ``stop`` at every residual block, forward and backward, so even a long step ends at once."""
    if stop is None:
        yield
        return

    def before_block(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        check_stop(stop)
        if torch.is_grad_enabled() and args[0].requires_grad:
            args[0].register_hook(lambda grad: check_stop(stop))  # runs when backward reaches the block

    handles = [block.register_forward_pre_hook(before_block)
               for model in models.values() for _, block in residual_blocks(model)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _train(
    config: TrainConfig,
    stop: threading.Event | None,
    models: dict[str, nn.Module] | None,
    data: tuple[Split, Split] | None,
    on_phase: Callable[[str], None] | None,
) -> Iterator[Record]:
    started = time.perf_counter()
    if on_phase is not None:
        on_phase("preparing data")
    train_split, val_split = data or load_dataset(
        config.dataset, config.image_size, config.train_size, config.val_size, config.seed, config.data_dir,
        stop=stop,
    )
    device = pick_device(config.device)
    models = models if models is not None else build_models(config, len(train_split.classes))
    for model in models.values():
        model.to(device).train()
    optimizers = {name: _optimizer(config, model) for name, model in models.items()}
    if on_phase is not None:
        on_phase("training")
    with _stop_checks(models, stop):
        yield from _loop(config, stop, models, optimizers, train_split, val_split, device, started)


def _loop(
    config: TrainConfig,
    stop: threading.Event | None,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    train_split: Split,
    val_split: Split,
    device: torch.device,
    started: float,
) -> Iterator[Record]:
    order = torch.Generator().manual_seed(config.seed)
    per_epoch = steps_per_epoch(config, len(train_split))
    total = total_steps(config, len(train_split))
    sums = {name: [0.0, 0.0, 0] for name in models}  # loss sum, accuracy sum, steps this epoch
    for step in range(total):
        check_stop(stop)
        epoch, position = divmod(step, per_epoch)
        if position == 0 and epoch > 0 and config.fresh_data:
            # the next pictures of the unlimited shapes stream: every epoch shows new ones
            size = len(train_split)
            train_split = shapes_split(size, config.image_size, config.seed, "train", stop, start=epoch * size)
        if position == 0:
            permutation = torch.randperm(len(train_split), generator=order)
        index = permutation[position * config.batch_size : (position + 1) * config.batch_size]
        x = to_input(train_split.images[index].to(device), config.image_size)
        y = train_split.labels[index].to(device)
        lr = learning_rate(config, step, total)
        want_norms = step % config.grad_every == 0 or step == total - 1
        for name, model in models.items():
            for group in optimizers[name].param_groups:
                group["lr"] = lr
            tick = time.perf_counter()
            loss, acc, norms, input_norms = _step(model, optimizers[name], x, y, want_norms, stop)
            rate = len(y) / max(time.perf_counter() - tick, 1e-9)
            sums[name] = [sums[name][0] + loss, sums[name][1] + acc, sums[name][2] + 1]
            seconds = time.perf_counter() - started
            yield Record(
                "step", name, step + 1, epoch + 1, loss, acc, lr, rate, seconds,
                grad_norms=norms, input_grad_norms=input_norms,
            )
        if position == per_epoch - 1 or step == total - 1:
            yield from _epoch_records(models, sums, val_split, config, device, step, epoch, lr, started, stop)
            sums = {name: [0.0, 0.0, 0] for name in models}


def _epoch_records(
    models: dict[str, nn.Module],
    sums: dict[str, list],
    val_split: Split,
    config: TrainConfig,
    device: torch.device,
    step: int,
    epoch: int,
    lr: float,
    started: float,
    stop: threading.Event | None,
) -> Iterator[Record]:
    """An epoch record per net: mean training loss/accuracy of the epoch and validation scores."""
    for name, model in models.items():
        tick = time.perf_counter()
        val_loss, val_acc = evaluate(model, val_split, config.image_size, device, config.batch_size, stop)
        rate = len(val_split) / max(time.perf_counter() - tick, 1e-9)
        loss_sum, acc_sum, count = sums[name]
        yield Record(
            "epoch",
            name,
            step + 1,
            epoch + 1,
            loss_sum / count,
            acc_sum / count,
            lr,
            rate,
            time.perf_counter() - started,
            val_loss=val_loss,
            val_acc=val_acc,
        )


def save_weights(model: nn.Module, path: str | Path, half: bool = False) -> Path:
    """Save ``model``'s state dict (floats as fp16 when ``half``) to ``path``."""
    state = {
        key: value.detach().cpu().half() if half and value.is_floating_point() else value.detach().cpu()
        for key, value in model.state_dict().items()
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict saved by :func:`save_weights` (fp16 or fp32) with ``weights_only=True``.

    A file that is not such a checkpoint, or one made for another architecture, is a UserError
    that says which (the first missing, unexpected or differently shaped weight).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is not a file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file: pickle, zip or torch errors alike
        raise UserError(f"{path} is not a checkpoint saved by --save ({type(error).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise UserError(f"{path} is not a state dict of tensors")
    reference = model.state_dict()
    missing = [key for key in reference if key not in state]
    unexpected = [key for key in state if key not in reference]
    wrong = [key for key in reference if key in state and state[key].shape != reference[key].shape]
    if missing or unexpected or wrong:
        key = (missing or unexpected or wrong)[0]
        what = ("lacks" if missing else "has an unexpected" if unexpected else "has a differently shaped")
        count = len(missing) + len(unexpected) + len(wrong)
        raise UserError(f"{path} does not fit this model: it {what} weight {key} ({count} mismatches in all)")
    model.load_state_dict(state)  # copies into the model's own tensors, fp16 into fp32 included
    return model
