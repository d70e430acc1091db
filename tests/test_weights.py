"""Weights: the torch hub cache path, offline fallback, corrupt and malicious checkpoints."""

import pytest
import torch
from torch.testing import assert_close

from resnet_core import settings, weights
from resnet_core.models import build_model
from resnet_core.weights import IMAGENET_WEIGHTS, LABELS, WeightsError, cached_checkpoint, load_model


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_checkpoint_in_the_torch_hub_cache_is_used(torch_home):
    path = cached_checkpoint(IMAGENET_WEIGHTS["resnet18"])
    assert path == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.manual_seed(123)
    state = build_model("resnet18").state_dict()
    torch.save(state, path)
    loaded = load_model("resnet18", "auto")
    assert loaded.weights == "imagenet"
    assert loaded.label == "ImageNet (torchvision IMAGENET1K_V1)"
    assert loaded.categories[0] == "tench"
    assert_close(loaded.model.state_dict()["fc.weight"], state["fc.weight"])
    assert not loaded.model.training


def test_offline_auto_falls_back_and_says_why(torch_home):
    loaded = load_model("resnet50", "auto")
    assert loaded.weights == "none"
    assert loaded.label.startswith("untrained: predictions are meaningless")
    assert any("not in this server's torch hub cache" in note for note in loaded.notes)


def test_offline_explicit_imagenet_is_a_clear_error(torch_home):
    with pytest.raises(WeightsError, match="not in this server's torch hub cache"):
        load_model("resnet34", "imagenet")


def test_corrupt_cached_file_is_reported_and_skipped(torch_home):
    path = cached_checkpoint(IMAGENET_WEIGHTS["resnet18"])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 definitely not a checkpoint")
    loaded = load_model("resnet18", "auto")
    assert loaded.weights == "none"
    assert any("could not be read as weights" in note and "skipped" in note for note in loaded.notes)


class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('x')",))


def test_malicious_pickle_is_refused_and_never_runs(torch_home, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    path = cached_checkpoint(IMAGENET_WEIGHTS["resnet18"])
    path.parent.mkdir(parents=True)
    torch.save({"fc.weight": _Exploit()}, path)
    loaded = load_model("resnet18", "auto")
    assert loaded.weights == "none"
    assert not marker.exists()
    assert any("could not be read" in note for note in loaded.notes)


def test_seed_auto_uses_the_bundled_weights():
    loaded = load_model("seed", "auto")
    assert loaded.weights == "bundled"
    assert loaded.label == LABELS["bundled"]


def test_seed_auto_says_so_when_the_bundled_file_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(weights, "BUNDLED_PATH", tmp_path / "seed_shapes.pt")
    loaded = load_model("seed", "auto")
    assert loaded.weights == "none"
    assert any("bundled weights are missing" in note for note in loaded.notes)
    with pytest.raises(WeightsError):
        load_model("seed", "bundled")


def test_impossible_choices_are_explained():
    with pytest.raises(WeightsError, match="no ImageNet weights exist for the seed model"):
        load_model("seed", "imagenet")
    with pytest.raises(WeightsError, match="bundled weights exist only for the seed model"):
        load_model("resnet18", "bundled")
    with pytest.raises(WeightsError, match="unknown model"):
        load_model("vgg16")


def test_untrained_weights_are_reproducible():
    a = load_model("seed", "none").model.state_dict()
    b = load_model("seed", "none").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_failed_download_is_remembered_for_the_process(monkeypatch, torch_home):
    monkeypatch.delenv("RESNET_TRACE_OFFLINE", raising=False)
    monkeypatch.setattr(settings, "_unreachable", {})
    calls = []

    def refuse(address, timeout):
        calls.append((address, timeout))
        raise OSError("network is unreachable")

    monkeypatch.setattr(settings.socket, "create_connection", refuse)
    first = load_model("resnet18", "auto")
    second = load_model("resnet34", "auto")
    assert first.weights == second.weights == "none"
    assert len(calls) == 1 and calls[0][1] <= 5
    assert any("cannot be reached" in note for note in second.notes)


@pytest.mark.parametrize("shape", ["star", "ring", "checkerboard"])
def test_bundled_seed_model_names_the_shape_samples(shape):
    assert weights.BUNDLED_PATH.is_file(), "the bundled weights ship in assets/ (README: Bundled weights)"
    from resnet_core.samples import sample_path
    from resnet_core.trace_api import trace_image

    report = trace_image(sample_path(shape), "seed", "auto")
    assert report.loaded.weights == "bundled"
    assert report.trace.top_k[0].label == shape
