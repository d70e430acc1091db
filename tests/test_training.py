"""The training engine, its reports and the ``train`` command, with torch as the reference."""

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from resnet_core.cli import main
from resnet_core.data import SHAPES_CLASSES, shapes_split, to_input
from resnet_core.models import BasicBlock, CifarResNetConfig, PaddedIdentity, cifar_resnet, count_params
from resnet_core.training import (
    DEGRADATION,
    TrainConfig,
    build_models,
    conv_layer_names,
    load_weights,
    residual_blocks,
    save_weights,
    train,
)
from resnet_core.training_report import TABLE_COLUMNS, epoch_table, records_to_csv, records_to_json

TINY = TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, val_size=20, batch_size=16, epochs=2)
# the degradation experiment in miniature: plain-8, plain-14, resnet-8, resnet-14 on fresh shapes
TINY_DEGRADATION = replace(DEGRADATION, depth=14, shallow_depth=8, train_size=32, val_size=20, batch_size=16, epochs=2)
ASSET = Path(__file__).resolve().parent.parent / "assets" / "seed_shapes.pt"


def _losses(config, steps):
    return [r.train_loss for r in train(replace(config, steps=steps)) if r.kind == "step"]


def test_same_seed_gives_identical_first_losses():
    assert _losses(TINY, 3) == _losses(TINY, 3)
    assert _losses(TINY, 3) != _losses(replace(TINY, seed=1), 3)


def test_twins_start_from_the_same_weights():
    models = build_models(TINY, 10)  # option A: no layer of its own in either net
    plain, resnet = models["plain"].state_dict(), models["resnet"].state_dict()
    assert list(plain) == list(resnet)
    for key, value in resnet.items():
        torch.testing.assert_close(plain[key], value, rtol=0, atol=0)


def test_with_option_b_only_the_projections_are_the_resnets_own():
    models = build_models(replace(TINY, shortcut="B"), 10)
    plain = models["plain"].state_dict()
    for key, value in models["resnet"].state_dict().items():
        if "downsample" not in key:
            torch.testing.assert_close(plain[key], value)
    assert not any("downsample" in key for key in plain)


# He et al. 2016, sec. 4.2 (0.27M ... 1.7M in Table 6). At width 1 and 10 classes, with n = (depth - 2) / 6:
#   stem conv 3*16*9 = 432, its BN 2*16 = 32, fc 64*10 + 10 = 650
#   a block of stage 1: 2 convs 16*16*9 = 2304 each, 2 BNs of 32: 4,672
#   a block of stage 2: 2 * 32*32*9 + 2 * 64 = 18,560; of stage 3: 2 * 64*64*9 + 2 * 128 = 73,984
#   the first blocks of stages 2 and 3 read half the channels: -16*32*9 = -4,608 and -32*64*9 = -18,432
#   total = 432 + 32 + 650 + n * (4,672 + 18,560 + 73,984) - 4,608 - 18,432 = 97,216 n - 21,926
#   n = 3: 269,722 (ResNet-20); 5: 464,154; 7: 658,586; 9: 853,018; 18: 1,727,962 (ResNet-110)
PAPER_PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


@pytest.mark.parametrize(("depth", "params"), PAPER_PARAMS.items())
def test_option_a_nets_have_the_papers_parameter_counts_and_so_do_their_plain_twins(depth, params):
    assert params == 97_216 * (depth - 2) // 6 - 21_926
    assert count_params(cifar_resnet(CifarResNetConfig(depth))) == params
    assert count_params(cifar_resnet(CifarResNetConfig(depth, skip=False))) == params
    assert count_params(cifar_resnet(CifarResNetConfig(depth, shortcut="B"))) > params  # two projections


def test_option_a_shortcut_is_the_subsampled_input_padded_with_zero_channels():
    x = torch.randn(2, 16, 9, 9)
    expected = torch.cat([x[:, :, ::2, ::2], torch.zeros(2, 16, 5, 5)], dim=1)
    torch.testing.assert_close(PaddedIdentity(16, 32, 2)(x), expected, rtol=0, atol=0)
    block = BasicBlock(16, 32, stride=2, shortcut="A").eval()
    with torch.no_grad():
        branch = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
        torch.testing.assert_close(block(x), torch.relu(branch + expected))


def _zero_residual_branch(block: BasicBlock) -> BasicBlock:
    with torch.no_grad():
        block.conv2.weight.zero_()
    return block.eval()


def test_plain_twin_has_no_identity_path():
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        skip = _zero_residual_branch(BasicBlock(8, 8, skip=True))(x)
        plain = _zero_residual_branch(BasicBlock(8, 8, skip=False))(x)
    torch.testing.assert_close(skip, torch.relu(x))  # the skip block passes x through
    torch.testing.assert_close(plain, torch.zeros_like(x))  # relu(0): nothing of x is left


def test_gradient_norms_cover_every_conv_layer():
    records = [r for r in train(replace(TINY, steps=1)) if r.grad_norms]
    models = build_models(TINY, 10)
    for name in ("resnet", "plain"):
        norms = next(r.grad_norms for r in records if r.model == name)
        assert list(norms) == conv_layer_names(models[name])
        assert all(value > 0 for value in norms.values())


def _first_batch(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch train() takes first: the start of the seed's first permutation of the training set."""
    data = shapes_split(config.train_size, config.image_size, config.seed)
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed))[: config.batch_size]
    return to_input(data.images[index]), data.labels[index]


def test_relative_weight_gradients_match_torch_autograd():
    config = replace(TINY, steps=1, compare=False)
    record = next(r for r in train(config) if r.grad_norms)
    model = build_models(config, 10)["resnet"]
    x, y = _first_batch(config)
    nn.functional.cross_entropy(model(x), y).backward()
    relative = model.conv1.weight.grad.norm() / model.conv1.weight.norm()
    assert record.grad_norms["conv1"] == pytest.approx(relative.item(), rel=1e-4)


def _retained_input_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """|dL/dx| at every residual block's input, by ``x.retain_grad()`` (torch as the reference)."""
    inputs = {}

    def keep(name):
        def hook(module, args):
            args[0].retain_grad()
            inputs[name] = args[0]

        return hook

    handles = [block.register_forward_pre_hook(keep(name)) for name, block in residual_blocks(model)]
    nn.functional.cross_entropy(model(x), y).backward()
    for handle in handles:
        handle.remove()
    return {name: inputs[name].grad.norm().item() for name, _ in residual_blocks(model)}


@pytest.mark.parametrize(
    "config", [replace(TINY, steps=1), replace(TINY_DEGRADATION, steps=1)], ids=["twins", "degradation"]
)
def test_block_input_gradients_match_retain_grad_on_the_same_batch(config):
    records = {r.model: r.input_grad_norms for r in train(config) if r.input_grad_norms}
    x, y = _first_batch(config)
    for name, model in build_models(config, 10).items():
        expected = _retained_input_grad_norms(model, x, y)
        assert list(records[name]) == list(expected)  # every block, input to output
        assert records[name] == pytest.approx(expected, rel=1e-4), name


def _stop_while(config: TrainConfig, phase: str, delay: float) -> tuple[float, list]:
    """Train ``config`` in a thread, set the stop flag ``delay`` s into ``phase``; seconds until train() returned."""
    stop, entered, records = threading.Event(), threading.Event(), []

    def run() -> None:
        hear = lambda name: entered.set() if name == phase else None  # noqa: E731
        records.extend(train(config, stop=stop, on_phase=hear))

    worker = threading.Thread(target=run)
    worker.start()
    assert entered.wait(60), f"never reached {phase}"
    time.sleep(delay)
    asked = time.monotonic()
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    return time.monotonic() - asked, records


def test_stop_ends_data_generation_within_a_second():
    big = replace(TINY, image_size=224, train_size=20_000)  # minutes of drawing
    seconds, records = _stop_while(big, "preparing data", 0.5)
    assert seconds < 1.0 and records == []


def test_stop_ends_a_long_step_within_a_second():
    slow = replace(TINY, depth=56, width=2.0, image_size=96, batch_size=32, train_size=64)  # a forward takes seconds
    seconds, records = _stop_while(slow, "training", 0.5)
    assert seconds < 1.0 and records == []  # it stopped inside the first step


def test_stop_ends_a_run_within_a_second():
    stop = threading.Event()
    records = []
    started = time.monotonic()
    for record in train(replace(TINY, epochs=1000), stop=stop):
        records.append(record)
        if len(records) == 4:
            stop.set()
            stopped_at = time.monotonic()
    assert time.monotonic() - stopped_at < 1.0
    assert records[-1].step <= 3 and time.monotonic() - started < 30


def test_epoch_tables_follow_the_seed_format_with_observations():
    records = list(train(TINY))
    for model in ("resnet", "plain"):
        table = epoch_table(records, model, 10)
        assert [row["Epoch"] for row in table] == [1, 2]
        assert all(tuple(row) == TABLE_COLUMNS and row["Observation"] for row in table)
    assert records_to_csv(records).startswith("kind,model,step")
    assert len(json.loads(records_to_json(records, TINY))["records"]) == len(records)


def test_saved_weights_load_with_weights_only(tmp_path):
    model = build_models(replace(TINY, compare=False), 10)["resnet"]
    path = save_weights(model, tmp_path / "w.pt", half=True)
    again = load_weights(build_models(replace(TINY, compare=False, seed=9), 10)["resnet"], path)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], value, atol=1e-2, rtol=1e-2)


def test_cli_json_prints_epochs_then_summary(capsys):
    argv = ["train", "--depth", "8", "--compare", "--steps", "4", "--image-size", "16", "--json"]
    assert main([*argv, "--train-size", "32", "--val-size", "10", "--batch-size", "16"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["model"] for line in lines[:-1]} == {"resnet", "plain"}
    assert set(lines[-1]["summary"]) == {"resnet", "plain", "seconds"}


def test_degradation_trains_four_nets_on_the_same_fresh_batches():
    models = build_models(TINY_DEGRADATION, 10)
    assert list(models) == ["plain-8", "plain-14", "resnet-8", "resnet-14"]
    seen = {name: [] for name in models}
    for name, model in models.items():
        keep = seen[name].append
        model.register_forward_pre_hook(lambda m, args, keep=keep: keep(args[0].clone()) if m.training else None)
    records = list(train(TINY_DEGRADATION, models=models))
    batches = seen["plain-8"]
    assert len(batches) == 4  # 2 epochs of 2 steps
    for name in models:
        assert all(torch.equal(a, b) for a, b in zip(seen[name], batches, strict=True)), name
    first, second = torch.cat(batches[:2]), torch.cat(batches[2:])
    assert not any(torch.equal(a, b) for a in first for b in second)  # epoch 2 draws new pictures
    epochs = [(r.model, r.epoch) for r in records if r.kind == "epoch"]
    assert epochs == [(name, epoch) for epoch in (1, 2) for name in models]


def test_cli_degradation_json_names_the_four_nets_and_sums_up_their_parameters(capsys):
    argv = ["train", "--experiment", "degradation", "--depth", "14", "--shallow-depth", "8", "--epochs", "1"]
    assert main([*argv, "--train-size", "32", "--val-size", "10", "--batch-size", "16", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = ["plain-8", "plain-14", "resnet-8", "resnet-14"]
    assert [line["model"] for line in lines[:-1]] == names
    result = lines[-1]["summary"]
    assert list(result) == [*names, "seconds"]
    for name in names:
        assert set(result[name]) == {"final_train_acc", "final_val_acc", "params"}
        assert 0 <= result[name]["final_train_acc"] <= 1 and 0 <= result[name]["final_val_acc"] <= 1
    assert result["plain-14"]["params"] == result["resnet-14"]["params"] > result["resnet-8"]["params"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--depth", "7"], "error: --depth must be 6n+2"),
        (["train", "--dataset", "cifar10", "--data-dir", "/nonexistent"], "error: cifar10 is not in"),
        (["train", "--epochs", "1", "--steps", "2"], "error: argument --steps"),
        (["train", "--experiment", "degradation", "--depth", "20"], "error: --shallow-depth (20) must be smaller"),
        (["train", "--experiment", "degradation", "--model", "seed"], "error: the degradation experiment needs"),
        (["train", "--dataset", "mnist", "--fresh-data"], "error: --fresh-data needs the shapes dataset"),
        (["train", "--experiment", "degradation", "--save", "x.pt"], "error: --init and --save work with"),
    ],
)
def test_cli_errors_are_one_line_with_status_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(argv))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_bundled_weights_score_95_percent_on_fresh_validation_shapes():
    assert ASSET.is_file(), "the bundled weights ship in assets/ (README: Bundled weights)"
    from resnet_core.models import seed_resnet

    model = load_weights(seed_resnet(len(SHAPES_CLASSES)), ASSET).eval()
    fresh = shapes_split(100, 224, seed=2024, split="val")
    with torch.no_grad():
        predictions = torch.cat([model(to_input(fresh.images[i : i + 25])).argmax(1) for i in range(0, 100, 25)])
    assert (predictions == fresh.labels).float().mean().item() >= 0.95


def test_gradient_observation_is_computed_from_the_runs_own_norms():
    from resnet_core.training_report import gradient_observation, gradient_profile, gradient_spread

    records = list(train(replace(TINY, compare=True, steps=2)))
    for model in ("resnet", "plain"):
        norms = list(gradient_profile(records, model).values())
        assert list(gradient_profile(records, model)) == ["layer1.0", "layer2.0", "layer3.0"]
        assert gradient_spread(records, model) == pytest.approx(norms[0] / norms[-1])
    sentence = gradient_observation(records, TINY.depth)
    assert f"in ResNet-{TINY.depth} it" in sentence and f"in plain-{TINY.depth} it" in sentence
    spread = gradient_spread(records, "plain")
    assert f"{max(spread, 1 / spread):,.1f}×" in sentence
