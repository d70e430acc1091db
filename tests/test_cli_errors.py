"""Every mistake on the command line: one ``error:`` line naming the option, exit status 2, no traceback."""

import os
import threading
from pathlib import Path

import pytest

from resnet_core.cli import main

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _fail(capsys, argv: list[str]) -> str:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own refusals (an unknown choice) exit from parse_args
        status = exit_.code
    assert status == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["train", "--lr", "nan"], "--lr"),
        (["train", "--lr", "inf"], "--lr"),
        (["train", "--lr", "-1"], "--lr"),
        (["train", "--seed", "-1"], "--seed"),
        (["train", "--width", "0"], "--width"),
        (["train", "--depth", "21"], "--depth"),
        (["train", "--image-size", "8"], "--image-size"),
        (["train", "--batch-size", "64", "--train-size", "32"], "--batch-size"),
        (["train", "--device", "foo"], "--device"),
        (["train", "--threads", "0"], "--threads"),
        (["train", "--max-mb", "-3"], "--max-mb"),
        (["train", "--max-mb", "10"], "--max-mb"),  # the budget: the preset needs more than 10 MB
        (["train", "--max-seconds", "1"], "--max-seconds"),
        (["trace", str(ASSETS / "cat.jpg"), "--top-k", "0"], "--top-k"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_a_bad_option_is_named_in_one_line(capsys, argv, names):
    assert names in _fail(capsys, argv)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_refused_before_any_work(capsys):
    assert "no CUDA GPU" in _fail(capsys, ["train", "--device", "cuda"])


def test_init_from_random_bytes_or_a_foreign_checkpoint_is_explained(capsys, tmp_path):
    noise = tmp_path / "noise.pt"
    noise.write_bytes(os.urandom(1000))
    assert "is not a checkpoint saved by --save" in _fail(capsys, ["train", "--init", str(noise), "--steps", "1"])
    other = str(ASSETS / "seed_shapes.pt")  # the trace page's seed model, not a CIFAR ResNet
    assert "does not fit this model: it lacks weight" in _fail(capsys, ["train", "--init", other, "--steps", "1"])


def test_an_unwritable_save_path_is_refused_before_training(capsys, tmp_path):
    assert "cannot be written" in _fail(capsys, ["train", "--save", "/proc/x.pt", "--steps", "1"])
    assert "is a folder" in _fail(capsys, ["train", "--save", str(tmp_path), "--steps", "1"])


@pytest.mark.parametrize("path", ["/dev/zero", "fifo"])
def test_trace_refuses_devices_and_pipes_at_once(capsys, tmp_path, path):
    if path == "fifo":
        path = str(tmp_path / "picture.png")
        os.mkfifo(path)  # opening it to read would wait forever for a writer
    done = threading.Event()
    result = {}

    def run():
        result["line"] = _fail(capsys, ["trace", path])
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), f"trace {path} did not return"
    assert "is not a regular file" in result["line"]
