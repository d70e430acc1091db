"""The training engine's numbers at their edges, each against a reference computed apart from it.

The schedule against torch's own LinearLR + CosineAnnealingLR, epoch records against the mean of
their step records, evaluation against one cross-entropy over the whole split, the first step
against a forward pass of the same weights on the same batch, checkpoints byte for byte, and a
ResNet ahead of its plain twin on a config small enough for every CI run.
"""

import os
import threading
import time
from dataclasses import fields, replace
from pathlib import Path

import pytest
import torch
from torch import nn

from resnet_core.data import DatasetUnavailable, shapes_split, to_input
from resnet_core.errors import Interrupted, UserError
from resnet_core.models import count_params, residual_blocks
from resnet_core.training import (
    TrainConfig,
    _optimizer,
    _step,
    build_models,
    build_nets_on_meta,
    evaluate,
    learning_rate,
    load_weights,
    nets,
    pick_device,
    save_weights,
    steps_per_epoch,
    total_steps,
    train,
    twin_of,
)

TINY = TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, val_size=20, batch_size=16, epochs=2)


# ----------------------------------------------------------------------------------------------
# The learning-rate schedule


def _torch_schedule(config: TrainConfig, total: int) -> list[float]:
    """Linear warm-up then cosine decay to 0, as torch's schedulers compute them (the reference)."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=config.lr)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - config.warmup_steps, eta_min=0)
    if config.warmup_steps:
        warmup = torch.optim.lr_scheduler.LinearLR(
            optimizer, start_factor=1 / config.warmup_steps, end_factor=1.0, total_iters=config.warmup_steps - 1
        )
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], [config.warmup_steps])
    else:
        scheduler = cosine
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(("warmup", "total"), [(0, 10), (3, 10), (1, 2), (20, 384)])
def test_learning_rate_is_torchs_linear_warmup_then_cosine(warmup, total):
    config = replace(TINY, lr=0.004, warmup_steps=warmup)
    ours = [learning_rate(config, step, total) for step in range(total)]
    assert ours == pytest.approx(_torch_schedule(config, total), rel=1e-6, abs=1e-12)


def test_learning_rate_boundaries():
    config = replace(TINY, lr=0.1, warmup_steps=4)
    assert learning_rate(config, 0, 10) == pytest.approx(0.025)  # a quarter of the peak on the first step
    assert learning_rate(config, 3, 10) == pytest.approx(0.1)  # the peak at the last warm-up step
    assert learning_rate(config, 4, 10) == pytest.approx(0.1)  # cos(0): the peak again
    assert learning_rate(config, 7, 10) == pytest.approx(0.05)  # half way through the decay
    assert learning_rate(config, 10, 10) == pytest.approx(0.0, abs=1e-12)  # zero at the end
    short = replace(config, warmup_steps=1)
    assert [learning_rate(short, s, 2) for s in range(3)] == pytest.approx([0.1, 0.1, 0.0], abs=1e-12)


def test_steps_count_full_batches_and_steps_override_epochs():
    assert steps_per_epoch(replace(TINY, batch_size=16), 64) == 4
    assert steps_per_epoch(replace(TINY, batch_size=16), 79) == 4  # the partial batch is dropped
    assert steps_per_epoch(replace(TINY, batch_size=16), 80) == 5
    assert steps_per_epoch(replace(TINY, batch_size=64), 64) == 1  # one batch is the whole set
    assert total_steps(replace(TINY, epochs=3), 64) == 12
    assert total_steps(replace(TINY, epochs=3, steps=5), 64) == 5


# ----------------------------------------------------------------------------------------------
# What a run records


def _data(config: TrainConfig):
    return (shapes_split(config.train_size, config.image_size, config.seed, "train"),
            shapes_split(config.val_size, config.image_size, config.seed, "val"))


def _first_batch(config: TrainConfig, split) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch train() takes first from ``split``: the start of the seed's first permutation, resized."""
    index = torch.randperm(len(split), generator=torch.Generator().manual_seed(config.seed))[: config.batch_size]
    return to_input(split.images[index], config.image_size), split.labels[index]


def test_epoch_records_are_the_means_of_their_steps_and_the_last_epoch_may_be_partial():
    config = replace(TINY, steps=7, warmup_steps=2)  # 4 steps per epoch: epochs of 4 and 3 steps
    started = time.perf_counter()
    records = list(train(config, data=_data(config)))
    elapsed = time.perf_counter() - started
    total = 7
    for name in ("resnet", "plain"):
        steps = [r for r in records if r.model == name and r.kind == "step"]
        epochs = [r for r in records if r.model == name and r.kind == "epoch"]
        assert [r.step for r in steps] == list(range(1, 8))
        assert [r.epoch for r in steps] == [1, 1, 1, 1, 2, 2, 2]
        assert [r.lr for r in steps] == [learning_rate(config, s, total) for s in range(total)]
        assert [(r.step, r.epoch) for r in epochs] == [(4, 1), (7, 2)]
        for epoch, rows in ((epochs[0], steps[:4]), (epochs[1], steps[4:])):
            assert epoch.train_loss == pytest.approx(sum(r.train_loss for r in rows) / len(rows), rel=1e-9)
            assert epoch.train_acc == pytest.approx(sum(r.train_acc for r in rows) / len(rows), rel=1e-9)
            assert epoch.lr == rows[-1].lr
        # images per second of the work timed: every step of 16 images takes under 16 s, and on a tiny net
        # most steps and validations of 20 images take well under a second (the first step is the slowest)
        assert all(r.samples_per_s > 1 for r in steps + epochs)
        assert max(r.samples_per_s for r in steps) > 16 and max(r.samples_per_s for r in epochs) > 20
    seconds = [r.seconds for r in records]
    assert seconds == sorted(seconds) and seconds[0] > 0 and seconds[-1] <= elapsed


def test_gradient_norms_are_recorded_every_grad_every_steps_and_at_the_last():
    config = replace(TINY, steps=5, grad_every=3, compare=False)
    steps = [r for r in train(config, data=_data(config)) if r.kind == "step"]
    assert [r.step for r in steps if r.grad_norms] == [1, 4, 5]
    assert [r.step for r in steps if r.input_grad_norms] == [1, 4, 5]
    assert all(r.grad_norms is None and r.input_grad_norms is None for r in steps if r.step in (2, 3))  # null


def test_the_first_step_reports_the_loss_and_accuracy_of_the_starting_weights_on_the_first_batch():
    config = replace(TINY, steps=1)
    val_split = _data(config)[1]
    train_split = shapes_split(64, 24, config.seed, "train")  # stored at 24 px: each batch is resized to 16
    models = build_models(config, 10)
    first = {}
    x, y = _first_batch(config, train_split)
    for name, model in models.items():
        with torch.no_grad():
            logits = model.train()(x)  # training mode, as the step sees it (batch statistics)
        first[name] = (nn.functional.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item())
    fresh = build_models(config, 10)
    records = [r for r in train(config, models=fresh, data=(train_split, val_split)) if r.kind == "step"]
    for record in records:
        loss, acc = first[record.model]
        assert record.train_loss == pytest.approx(loss, rel=1e-5)
        assert record.train_acc == pytest.approx(acc)


def test_validation_scores_are_one_cross_entropy_over_the_whole_split():
    config = replace(TINY, steps=2, val_size=21, batch_size=8)  # 21 = 8 + 8 + 5: a partial last batch
    train_split = _data(config)[0]
    val_split = shapes_split(21, 24, config.seed, "val")  # stored at 24 px: validation resizes to 16 as training does
    models = build_models(config, 10)
    records = [r for r in train(config, models=models, data=(train_split, val_split)) if r.kind == "epoch"]
    x, y = to_input(val_split.images, 16), val_split.labels
    for record in records:
        model = models[record.model].eval()
        with torch.no_grad():
            logits = model(x)
        assert record.val_loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-4)
        assert record.val_acc == pytest.approx((logits.argmax(1) == y).float().mean().item())


@pytest.mark.parametrize("was_training", [True, False])
def test_evaluate_leaves_the_model_in_the_mode_it_found_it(was_training):
    model = build_models(replace(TINY, compare=False), 10)["resnet"].train(was_training)
    loss, acc = evaluate(model, shapes_split(10, 16, 0, "val"), 16, torch.device("cpu"), batch_size=4)
    assert model.training is was_training
    assert loss > 0 and 0 <= acc <= 1


def test_without_fresh_data_every_epoch_shows_the_same_pictures_in_a_new_order():
    config = replace(TINY, compare=False, train_size=32, epochs=2)
    model = build_models(config, 10)["resnet"]
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()) if m.training else None)
    list(train(config, models={"resnet": model}, data=_data(config)))
    first, second = torch.cat(seen[:2]), torch.cat(seen[2:])
    assert len(seen) == 4 and not torch.equal(first, second)  # reshuffled
    assert all(any(torch.equal(a, b) for b in first) for a in second)  # the same 32 pictures
    fresh = replace(config, fresh_data=True)
    seen.clear()
    list(train(fresh, models={"resnet": build_models(fresh, 10)["resnet"]}, data=_data(fresh)))
    assert not seen  # the hook belonged to the first model only
    model.train()
    seen.clear()
    list(train(fresh, models={"resnet": model}, data=_data(fresh)))
    first, second = torch.cat(seen[:2]), torch.cat(seen[2:])
    assert not any(any(torch.equal(a, b) for b in first) for a in second)  # epoch 2: new pictures


def test_a_resnet_is_ahead_of_its_plain_twin_on_a_small_deep_config():
    # 32 layers, 48 steps, about 4 s on one CPU thread. On seeds 0-3 the ResNet ended at 56-72 %
    # training accuracy and its plain twin at 15-19 % (chance: 10 %); the margin asked here is 25 points.
    config = TrainConfig(depth=32, width=0.5, image_size=16, train_size=256, val_size=64, batch_size=32, epochs=6,
                         optimizer="adam", lr=0.004)
    final = {r.model: r for r in train(config) if r.kind == "epoch" and r.epoch == 6}
    assert final["resnet"].train_acc >= final["plain"].train_acc + 0.25
    assert final["resnet"].train_loss < final["plain"].train_loss - 0.3


# ----------------------------------------------------------------------------------------------
# Nets, optimizers and devices


def test_nets_lists_plain_first_and_shallow_first():
    assert nets(TINY) == {"plain": (8, False), "resnet": (8, True)}
    assert nets(replace(TINY, compare=False)) == {"resnet": (8, True)}
    degradation = replace(TINY, experiment="degradation", depth=14, shallow_depth=8)
    assert nets(degradation) == {"plain-8": (8, False), "plain-14": (14, False),
                                 "resnet-8": (8, True), "resnet-14": (14, True)}
    assert nets(replace(degradation, compare=False)) == {"resnet-8": (8, True), "resnet-14": (14, True)}
    assert [twin_of(k) for k in ("plain-56", "resnet-20", "resnet", "plain")] == ["resnet-56", "plain-20", "plain",
                                                                                  "resnet"]


def test_each_seed_gives_its_own_starting_weights():
    a = build_models(replace(TINY, compare=False), 10)["resnet"].conv1.weight
    b = build_models(replace(TINY, compare=False, seed=1), 10)["resnet"].conv1.weight
    again = build_models(replace(TINY, compare=False), 10)["resnet"].conv1.weight
    assert torch.equal(a, again) and not torch.equal(a, b)


def test_optimizers_carry_the_configs_values():
    model = build_models(replace(TINY, compare=False), 10)["resnet"]
    sgd = _optimizer(replace(TINY, optimizer="sgd", lr=0.2, momentum=0.8, weight_decay=3e-4), model)
    assert isinstance(sgd, torch.optim.SGD)
    assert {k: sgd.defaults[k] for k in ("lr", "momentum", "weight_decay", "fused")} == {
        "lr": 0.2, "momentum": 0.8, "weight_decay": 3e-4, "fused": True}
    adam = _optimizer(replace(TINY, optimizer="adam", lr=0.003, weight_decay=2e-4), model)
    assert isinstance(adam, torch.optim.Adam)
    assert {k: adam.defaults[k] for k in ("lr", "weight_decay", "fused")} == {"lr": 0.003, "weight_decay": 2e-4,
                                                                              "fused": True}
    assert len(sgd.param_groups[0]["params"]) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; choose sgd or adam"):
        _optimizer(replace(TINY, optimizer="rmsprop"), model)


def test_devices():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert pick_device("auto") == torch.device("cpu")
    assert pick_device().type in (expected, "mps")
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(UserError) as error:
        pick_device("foo")
    assert str(error.value) == "device must be one of auto, cpu, cuda, mps, got 'foo'"
    if not torch.cuda.is_available():
        with pytest.raises(UserError) as error:
            pick_device("cuda")
        assert str(error.value) == "device cuda was asked for, but this machine has no CUDA GPU (use auto or cpu)"
    if not torch.backends.mps.is_available():
        with pytest.raises(UserError) as error:
            pick_device("mps")
        assert str(error.value) == "device mps was asked for, but this machine has no Apple GPU (use auto or cpu)"


# ----------------------------------------------------------------------------------------------
# Checks of a config: the exact one-line message, named as the caller calls each field

VALIDATION = [
    ({"dataset": "imagenet"}, "dataset must be one of shapes, cifar10, fashionmnist, mnist, got 'imagenet'"),
    ({"model": "vgg"}, "model must be cifar or seed, got 'vgg'"),
    ({"depth": 7}, "depth must be 6n+2"),
    ({"experiment": "wide"}, "experiment must be one of twins, degradation, got 'wide'"),
    ({"experiment": "degradation", "model": "seed"}, "the degradation experiment needs model cifar (two depths)"),
    ({"experiment": "degradation", "depth": 20, "shallow_depth": 9}, "shallow depth must be 6n+2"),
    ({"experiment": "degradation", "depth": 20, "shallow_depth": 20},
     "shallow depth (20) must be smaller than depth (20)"),
    ({"shortcut": "C"}, "shortcut must be A or B, got 'C'"),
    ({"dataset": "mnist", "fresh_data": True},
     "fresh data needs the shapes dataset (the others are finite), got mnist"),
    ({"image_size": 15}, "image size must be"),
    ({"epochs": 0}, "epochs must be at least 1, got 0"),
    ({"steps": 0}, "steps must be at least 1, got 0"),
    ({"batch_size": 0}, "batch size must be at least 1, got 0"),
    ({"train_size": 0, "batch_size": 1}, "train size must be at least 1, got 0"),
    ({"val_size": 0}, "val size must be at least 1, got 0"),
    ({"grad_every": 0}, "grad every must be at least 1, got 0"),
    ({"batch_size": 65}, "batch size (65) is larger than training images (64)"),
    ({"lr": 0.0}, "lr must be a positive number, got 0.0"),
    ({"lr": float("nan")}, "lr must be a positive number, got nan"),
    ({"lr": float("inf")}, "lr must be a positive number, got inf"),
    ({"width": -1.0}, "width must be a positive number, got -1.0"),
    ({"momentum": -0.1}, "momentum must be zero or more, got -0.1"),
    ({"weight_decay": float("nan")}, "weight decay must be zero or more, got nan"),
    ({"warmup_steps": -1}, "warm-up steps must be zero or more, got -1"),
    ({"seed": -1}, "seed must be zero or more, got -1"),
    ({"optimizer": "rmsprop"}, "optimizer must be sgd or adam, got 'rmsprop'"),
    ({"device": "tpu"}, "device must be one of auto, cpu, cuda, mps, got 'tpu'"),
]


@pytest.mark.parametrize(("change", "message"), VALIDATION, ids=[" ".join(c) for c, _ in VALIDATION])
def test_a_config_out_of_range_names_its_first_bad_field(change, message):
    with pytest.raises(UserError) as error:
        replace(TINY, **change).validate()
    assert str(error.value).startswith(message), str(error.value)
    if not message.endswith(("6n+2", "must be")):
        assert str(error.value) == message


def test_the_boundaries_themselves_are_valid():
    ok = replace(TINY, batch_size=64, train_size=64, epochs=1, steps=1, val_size=1, grad_every=1, momentum=0.0,
                 weight_decay=0.0, warmup_steps=0, seed=0, lr=1e-9, width=1e-3, image_size=16)
    ok.validate()
    replace(TINY, image_size=224).validate()
    replace(TINY, experiment="degradation", depth=14, shallow_depth=8).validate()
    replace(TINY, fresh_data=True, shortcut="B", model="seed", optimizer="adam", device="cpu").validate()


def test_each_field_is_named_as_the_caller_labels_it():
    labels = {field.name: "--" + field.name.replace("_", "-") for field in fields(TrainConfig)}
    labels |= {"lr": "Learning rate", "warmup_steps": "--warmup", "dataset": "Dataset", "epochs": "Epochs"}
    cases = [
        ({"batch_size": 65}, "--batch-size (65) is larger than --train-size (64)"),
        ({"lr": -1.0}, "Learning rate must be a positive number, got -1.0"),
        ({"warmup_steps": -2}, "--warmup must be zero or more, got -2"),
        ({"experiment": "degradation", "depth": 20, "shallow_depth": 56},
         "--shallow-depth (56) must be smaller than --depth (20)"),
        ({"dataset": "x"}, "Dataset must be one of shapes, cifar10, fashionmnist, mnist, got 'x'"),
        ({"dataset": "mnist", "fresh_data": True},
         "--fresh-data needs the shapes dataset (the others are finite), got mnist"),
        ({"epochs": 0}, "Epochs must be at least 1, got 0"),
        ({"seed": -3}, "--seed must be zero or more, got -3"),
        ({"model": "vgg"}, "--model must be cifar or seed, got 'vgg'"),
        ({"experiment": "wide"}, "--experiment must be one of twins, degradation, got 'wide'"),
        ({"experiment": "degradation", "model": "seed"}, "the degradation experiment needs --model cifar (two depths)"),
        ({"experiment": "degradation", "depth": 20, "shallow_depth": 9}, "--shallow-depth must be 6n+2 ("),
        ({"depth": 9}, "--depth must be 6n+2 ("),
        ({"shortcut": "C"}, "--shortcut must be A or B, got 'C'"),
        ({"image_size": 300}, "--image-size must be between 16 and 224 pixels, got 300"),
        ({"momentum": -1.0}, "--momentum must be zero or more, got -1.0"),
        ({"weight_decay": -1.0}, "--weight-decay must be zero or more, got -1.0"),
        ({"width": 0.0}, "--width must be a positive number, got 0.0"),
        ({"grad_every": 0}, "--grad-every must be at least 1, got 0"),
        ({"optimizer": "lbfgs"}, "--optimizer must be sgd or adam, got 'lbfgs'"),
        ({"device": "tpu"}, "--device must be one of auto, cpu, cuda, mps, got 'tpu'"),
    ]
    for change, message in cases:
        with pytest.raises(UserError) as error:
            replace(TINY, **change).validate(labels)
        assert str(error.value) == message or (message.endswith("(") and str(error.value).startswith(message))


def test_num_classes_comes_from_the_dataset():
    assert TINY.num_classes == 10 and replace(TINY, dataset="mnist").num_classes == 10


# ----------------------------------------------------------------------------------------------
# Checkpoints


def test_saved_weights_round_trip_exactly_in_fp32_and_as_fp16_with_integer_buffers_kept(tmp_path):
    model = build_models(replace(TINY, compare=False), 10)["resnet"]
    list(train(replace(TINY, compare=False, steps=1), models={"resnet": model}))  # BN buffers move
    full = save_weights(model, tmp_path / "new" / "folders" / "full.pt")
    assert full == tmp_path / "new" / "folders" / "full.pt" and full.is_file()
    other = build_models(replace(TINY, compare=False, seed=5), 10)["resnet"]
    loaded = load_weights(other, full).state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded[key], value), key
    half = torch.load(save_weights(model, tmp_path / "half.pt", half=True), weights_only=True)
    assert half["conv1.weight"].dtype == torch.float16
    assert half["bn1.num_batches_tracked"].dtype == torch.int64 and half["bn1.num_batches_tracked"].item() == 1
    back = load_weights(build_models(replace(TINY, compare=False), 10)["resnet"], tmp_path / "half.pt").state_dict()
    assert back["conv1.weight"].dtype == torch.float32
    torch.testing.assert_close(back["conv1.weight"], model.conv1.weight.detach(), rtol=1e-3, atol=1e-4)


def test_a_checkpoint_that_does_not_fit_says_which_weight(tmp_path):
    small = build_models(replace(TINY, compare=False), 10)["resnet"]
    deeper = build_models(replace(TINY, compare=False, depth=14), 10)["resnet"]
    path = save_weights(small, tmp_path / "w.pt")
    state = small.state_dict()
    with pytest.raises(UserError) as error:
        load_weights(deeper, path)
    missing = [k for k in deeper.state_dict() if k not in state]
    assert str(error.value) == (f"{path} does not fit this model: it lacks weight {missing[0]} "
                                f"({len(missing)} mismatches in all)")
    extra = {**state, "extra.weight": torch.zeros(1)}
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(UserError) as error:
        load_weights(small, tmp_path / "extra.pt")
    assert str(error.value) == (f"{tmp_path / 'extra.pt'} does not fit this model: it has an unexpected weight "
                                "extra.weight (1 mismatches in all)")
    wide = save_weights(build_models(replace(TINY, compare=False, width=1.0), 10)["resnet"], tmp_path / "wide.pt")
    with pytest.raises(UserError) as error:
        load_weights(small, wide)
    shaped = sum(value.shape != torch.load(wide)[key].shape for key, value in state.items())
    assert str(error.value) == (f"{wide} does not fit this model: it has a differently shaped weight conv1.weight "
                                f"({shaped} mismatches in all)")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(UserError) as error:
        load_weights(small, tmp_path / "list.pt")
    assert str(error.value) == f"{tmp_path / 'list.pt'} is not a state dict of tensors"
    (tmp_path / "junk.pt").write_bytes(b"\x00not a checkpoint")
    with pytest.raises(UserError) as error:
        load_weights(small, tmp_path / "junk.pt")
    assert str(error.value) == f"{tmp_path / 'junk.pt'} is not a checkpoint saved by --save (UnpicklingError)"
    with pytest.raises(UserError) as error:
        load_weights(small, tmp_path)
    assert str(error.value) == f"{tmp_path} is not a file"


class _RunsCode:
    """A pickle that calls a function when loaded: what a checkpoint from a stranger may hold."""

    def __reduce__(self):
        return (os.getpid, ())


def test_a_checkpoint_is_never_unpickled_beyond_tensors(tmp_path):
    torch.save({"conv1.weight": _RunsCode()}, tmp_path / "code.pt")
    with pytest.raises(UserError) as error:
        load_weights(build_models(replace(TINY, compare=False), 10)["resnet"], tmp_path / "code.pt")
    assert str(error.value) == f"{tmp_path / 'code.pt'} is not a checkpoint saved by --save (UnpicklingError)"


def test_budget_nets_on_the_meta_device_are_the_runs_own_nets():
    config = replace(TINY, shortcut="B", experiment="degradation", depth=14, shallow_depth=8)
    meta = build_nets_on_meta(config)
    real = build_models(config, 10)
    assert list(meta) == list(real)
    for key, model in meta.items():
        assert all(p.device.type == "meta" for p in model.parameters())
        assert count_params(model) == count_params(real[key]), key
    assert count_params(meta["resnet-14"]) > count_params(meta["plain-14"])  # option B: the projections


def test_fresh_data_starts_from_the_given_split_and_draws_the_next_pictures_after_it():
    config = replace(TINY, compare=False, train_size=32, epochs=2, fresh_data=True)
    given = shapes_split(32, 16, seed=7, split="train")  # not what the config's seed would draw
    model = build_models(config, 10)["resnet"]
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()) if m.training else None)
    list(train(config, models={"resnet": model}, data=(given, _data(config)[1])))
    pictures = to_input(given.images, 16)
    assert all(any(torch.equal(a, b) for b in pictures) for a in torch.cat(seen[:2]))  # epoch 1: the given split
    drawn = to_input(shapes_split(32, 16, config.seed, "train", start=32).images, 16)
    assert all(any(torch.equal(a, b) for b in drawn) for a in torch.cat(seen[2:]))  # epoch 2: samples 32-63


def test_stop_ends_the_drawing_of_the_next_epochs_pictures(monkeypatch):
    import resnet_core.training as training

    stop, interrupted = threading.Event(), []
    real = training.shapes_split

    def set_stop_then_draw(*args, **kwargs):
        stop.set()  # as if Stop were pressed while epoch 2's pictures are drawn
        try:
            return real(*args, **kwargs)
        except Interrupted:
            interrupted.append(True)
            raise

    monkeypatch.setattr(training, "shapes_split", set_stop_then_draw)
    config = replace(TINY, compare=False, train_size=32, epochs=2, fresh_data=True)
    records = list(train(config, stop=stop, data=_data(config)))
    assert interrupted == [True] and max(r.epoch for r in records) == 1


def test_a_step_checks_stop_before_backward_and_before_the_update():
    config = replace(TINY, compare=False)
    x, y = _first_batch(config, _data(config)[0])
    model = build_models(config, 10)["resnet"]
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        _step(model, _optimizer(config, model), x, y, False, stop)
    assert all(p.grad is None for p in model.parameters())  # stopped before backward
    stop.clear()
    before = {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    model.conv1.weight.register_hook(lambda grad: stop.set())  # Stop pressed during backward
    with pytest.raises(Interrupted):
        _step(model, _optimizer(config, model), x, y, False, stop)
    assert model.conv1.weight.grad is not None  # backward ran ...
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items() if "running" not in k)  # ... no update


def test_each_update_uses_the_scheduled_learning_rate():
    # plain SGD (no momentum, no decay): the first update is exactly w - lr_0 * dL/dw, with lr_0 = lr / 4
    config = replace(TINY, compare=False, steps=1, optimizer="sgd", lr=0.5, momentum=0.0, weight_decay=0.0,
                     warmup_steps=4)
    train_split, val_split = _data(config)
    model = build_models(config, 10)["resnet"]
    reference = build_models(config, 10)["resnet"]
    x, y = _first_batch(config, train_split)
    nn.functional.cross_entropy(reference(x), y).backward()
    list(train(config, models={"resnet": model}, data=(train_split, val_split)))
    expected = reference.fc.weight.detach() - 0.125 * reference.fc.weight.grad
    torch.testing.assert_close(model.fc.weight.detach(), expected, rtol=1e-5, atol=1e-6)


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda") and pick_device("cuda") == torch.device("cuda")
    assert pick_device("mps") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")


def test_the_seed_model_trains_as_its_twins_with_and_without_batchnorm():
    seed = replace(TINY, model="seed")
    models = build_models(seed, 10)
    blocks = {name: [b.skip for _, b in residual_blocks(model)] for name, model in models.items()}
    assert blocks == {"plain": [False, False, False], "resnet": [True, True, True]}  # stage 3 and stage 4's two
    assert models["resnet"].fc.out_features == 10
    assert any(isinstance(m, nn.BatchNorm2d) for m in models["resnet"].modules())
    without = build_models(replace(seed, batch_norm=False), 10)
    assert not any(isinstance(m, nn.BatchNorm2d) for model in without.values() for m in model.modules())
    with pytest.raises(UserError) as error:
        build_models(replace(TINY, model="vgg"), 10)
    assert str(error.value) == "unknown model 'vgg'; choose cifar or seed"


def test_a_run_reads_its_dataset_from_the_configs_folder(tmp_path):
    with pytest.raises(DatasetUnavailable) as error:
        list(train(replace(TINY, dataset="mnist", data_dir=str(tmp_path))))
    assert Path(error.value.folder) == tmp_path / "MNIST" / "raw"  # where the files belong, under the folder
