"""``python -m resnet_core trace``: the table, the JSON object, and one-line errors."""

import json
import subprocess
import sys

import pytest

from resnet_core.cli import main
from resnet_core.samples import sample_path
from tests import hostile_files as hf

CAT = str(sample_path("cat"))


def test_json_output_has_the_documented_shape(capsys):
    assert main(["trace", CAT, "--model", "seed", "--weights", "none", "--json", "--top-k", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"model", "weights", "stages", "top_k"}
    assert report["model"] == "seed" and report["weights"] == "none"
    keys = [s["key"] for s in report["stages"]]
    assert keys == [
        "input",
        "stem",
        "residual_block",
        "layer1.0",
        "stacked_blocks",
        "layer1.1",
        "layer1.2",
        "global_pool",
        "classifier",
    ]
    first = report["stages"][0]
    assert set(first) >= {"key", "title", "input_shape", "output_shape", "params"}
    by_key = {s["key"]: s for s in report["stages"]}
    assert by_key["stem"]["output_shape"] == [64, 56, 56]
    assert by_key["classifier"]["input_shape"] == [256]
    assert by_key["classifier"]["output_shape"] == [1000]
    assert len(report["top_k"]) == 3
    assert all(set(p) == {"label", "prob"} for p in report["top_k"])
    assert sum(p["prob"] for p in report["top_k"]) <= 1.0


def test_json_lists_every_residual_block_of_a_torchvision_model(capsys):
    assert main(["trace", CAT, "--model", "resnet18", "--weights", "none", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    blocks = [s["key"] for s in report["stages"] if s["key"].startswith("layer")]
    assert blocks == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]


def test_text_output_is_the_lessons_data_flow_table(capsys):
    assert main(["trace", CAT, "--weights", "none"]) == 0
    out = capsys.readouterr().out
    assert "untrained: predictions are meaningless" in out
    for line in ("2 Initial Convolution + Pooling", "224 × 224 × 3", "56 × 56 × 64", "1 × 1 × 256", "1000"):
        assert line in out
    assert "Top predictions:" in out


def test_module_entry_point_exits_2_with_one_error_line(tmp_path):
    # One real process for `python -m resnet_core`; every hostile file goes through main() in test_hostile_files.py.
    path = tmp_path / "half.jpg"
    path.write_bytes(hf.truncated_jpeg())
    result = subprocess.run(
        [sys.executable, "-m", "resnet_core", "trace", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: half.jpg is truncated or corrupt")


def test_bad_arguments_exit_2_with_one_line(capsys):
    for argv in (
        ["trace", CAT, "--model", "vgg"],
        ["trace", CAT, "--top-k", "0"],
        ["trace", CAT, "--weights", "imagenet"],
        ["trace", CAT, "--model", "resnet18", "--weights", "bundled"],
    ):
        with pytest.raises(SystemExit) as exited:
            sys.exit(main(argv))
        assert exited.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")
