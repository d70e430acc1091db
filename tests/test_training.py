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
from resnet_core.models import BasicBlock
from resnet_core.training import (
    TrainConfig,
    build_models,
    conv_layer_names,
    load_weights,
    save_weights,
    train,
)
from resnet_core.training_report import TABLE_COLUMNS, epoch_table, records_to_csv, records_to_json

TINY = TrainConfig(depth=8, width=0.5, image_size=16, train_size=64, val_size=20, batch_size=16, epochs=2)
ASSET = Path(__file__).resolve().parent.parent / "assets" / "seed_shapes.pt"


def _losses(config, steps):
    return [r.train_loss for r in train(replace(config, steps=steps)) if r.kind == "step"]


def test_same_seed_gives_identical_first_losses():
    assert _losses(TINY, 3) == _losses(TINY, 3)
    assert _losses(TINY, 3) != _losses(replace(TINY, seed=1), 3)


def test_twins_start_from_the_same_weights():
    models = build_models(TINY, 10)
    plain = models["plain"].state_dict()
    for key, value in models["resnet"].state_dict().items():
        if "downsample" not in key:
            torch.testing.assert_close(plain[key], value)
    assert not any("downsample" in key for key in plain)


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


def test_gradient_norms_match_torch_autograd():
    config = replace(TINY, steps=1, compare=False)
    record = next(r for r in train(config) if r.grad_norms)
    model = build_models(config, 10)["resnet"]
    data = shapes_split(config.train_size, config.image_size, config.seed)
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed))[: config.batch_size]
    loss = nn.functional.cross_entropy(model(to_input(data.images[index])), data.labels[index])
    loss.backward()
    assert record.grad_norms["conv1"] == pytest.approx(model.conv1.weight.grad.norm().item(), rel=1e-4)


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--depth", "7"], "error: --depth must be 6n+2"),
        (["train", "--dataset", "cifar10", "--data-dir", "/nonexistent"], "error: cifar10 is not in"),
        (["train", "--epochs", "1", "--steps", "2"], "error: argument --steps"),
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
        norms = [v for k, v in gradient_profile(records, model).items() if "downsample" not in k]
        assert gradient_spread(records, model) == pytest.approx(norms[0] / norms[-1])
    sentence = gradient_observation(records)
    assert "ResNet's" in sentence and "plain twin's" in sentence
    spread = gradient_spread(records, "plain")
    assert f"{max(spread, 1 / spread):,.1f}×" in sentence
