"""The exercises against torch itself: the shape-mismatch lab and the seed's SimpleResBlock."""

import contextlib
import io
import itertools

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock as TVBasicBlock
from torchvision.models.resnet import conv1x1

from resnet_core.quiz_exercises import (
    BlockSpec,
    block_shortcut_params,
    explain_simple_res_block,
    predict_output,
    run_block,
    simple_res_block_code,
)


def notes(result) -> str:
    """The lab's explanation as one string."""
    return " ".join(f"{heading}: {text}" for heading, text in result.explanation)


def torch_message(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> str:
    """The reference: what PyTorch raises when adding two tensors of these shapes."""
    with pytest.raises(RuntimeError) as error:
        torch.ones(a_shape) + torch.ones(b_shape)
    return str(error.value)


def reference_simple_res_block(weight: float, bias: float, value: float) -> float:
    """The seed's block written independently with functional ops."""
    x = torch.full((1, 3, 5, 5), value)
    out = F.conv2d(x, torch.full((3, 3, 3, 3), weight), torch.full((3,), bias), padding=1)
    out = F.relu(out) + x
    return out[0, 0, 0, 0].item()


# --- the shape-mismatch lab ---------------------------------------------------------------------------


def test_channel_clash_reproduces_pytorch_message_128_to_64():
    result = run_block(BlockSpec(in_channels=128, size=8, out_channels=64, stride=1, shortcut="identity"))
    reference = torch_message((1, 64, 8, 8), (1, 128, 8, 8))
    assert result.error == reference
    assert reference == "The size of tensor a (64) must match the size of tensor b (128) at non-singleton dimension 1"
    assert result.broken == ("channels",)
    assert "channels (64 on the main path, 128 on the shortcut)" in notes(result)
    assert "Fix: Use a 1×1 projection shortcut: a 1×1 conv 128→64 with stride 1" in notes(result)


def test_channel_clash_reproduces_pytorch_message_64_to_128():
    result = run_block(BlockSpec(in_channels=64, size=8, out_channels=128, stride=1, shortcut="identity"))
    assert result.error == torch_message((1, 128, 8, 8), (1, 64, 8, 8))
    assert result.shape("add") is None
    assert result.shape("output") is None


def test_stride_clash_names_height_and_width():
    result = run_block(BlockSpec(in_channels=64, size=32, out_channels=64, stride=2, shortcut="identity"))
    assert result.error == torch_message((1, 64, 16, 16), (1, 64, 32, 32))
    assert result.broken == ("height", "width")
    assert "Stride 2 shrinks 32×32 to 16×16" in notes(result)
    assert "PyTorch names only dimension 3" in notes(result)


def test_stride_2_projection_gives_matching_shapes():
    result = run_block(BlockSpec(in_channels=64, size=32, out_channels=128, stride=2, shortcut="projection"))
    assert result.ok
    assert result.shape("input") == (1, 64, 32, 32)
    assert result.shape("conv1") == (1, 128, 16, 16)
    assert result.shape("shortcut") == result.shape("conv2 + bn2") == (1, 128, 16, 16)
    assert result.shape("output") == (1, 128, 16, 16)


@pytest.mark.parametrize(("in_channels", "out_channels", "stride"), [(64, 128, 2), (64, 64, 2), (32, 64, 1)])
def test_every_suggested_fix_runs_and_matches_torchvision(in_channels, out_channels, stride):
    broken = run_block(BlockSpec(in_channels, 16, out_channels, stride, "identity"))
    assert not broken.ok
    assert broken.fix == BlockSpec(in_channels, 16, out_channels, stride, "projection")
    fixed = run_block(broken.fix)
    downsample = torch.nn.Sequential(conv1x1(in_channels, out_channels, stride), torch.nn.BatchNorm2d(out_channels))
    reference = TVBasicBlock(in_channels, out_channels, stride, downsample).eval()
    with torch.no_grad():
        expected = reference(torch.zeros(1, in_channels, 16, 16)).shape
    assert fixed.ok
    assert fixed.shape("output") == tuple(expected)


def test_identity_runs_when_shapes_already_match():
    result = run_block(BlockSpec(64, 56, 64, 1, "identity"))
    assert result.ok
    assert result.shape("shortcut") == result.shape("input") == result.shape("add") == (1, 64, 56, 56)


def test_no_shortcut_is_a_plain_block_without_add():
    result = run_block(BlockSpec(64, 32, 128, 2, "none"))
    assert result.ok
    assert result.shape("shortcut") is None
    assert result.shape("add") is None
    assert result.shape("output") == (1, 128, 16, 16)
    assert "plain block" in notes(result)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (BlockSpec(stride=3), "stride must be 1 or 2"),
        (BlockSpec(shortcut="maxpool"), "shortcut must be one of"),
        (BlockSpec(in_channels=0), "in_channels must be between"),
    ],
)
def test_invalid_spec_is_refused_with_a_message(spec, message):
    with pytest.raises(ValueError, match=message):
        run_block(spec)


def test_identity_shortcut_has_no_parameters_and_projection_has_conv_plus_bn():
    assert block_shortcut_params(64, 64, 1) == 0
    assert block_shortcut_params(64, 128, 2) == 64 * 128 + 2 * 128


# --- predict the output: the seed's SimpleResBlock ------------------------------------------------------


def test_seed_simple_res_block_prints_2():
    result = predict_output(weight=0.0, bias=1.0, input_value=1.0)
    assert result.printed == "2.0"
    assert result.value == reference_simple_res_block(0.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("weight", "bias", "value"),
    list(itertools.product([-0.5, 0.0, 0.25, 1.0], [-2.0, 0.0, 1.5], [-1.0, 0.5, 2.0])),
)
def test_simple_res_block_matches_torch_and_the_worked_explanation(weight, bias, value):
    result = predict_output(weight, bias, value)
    expected = reference_simple_res_block(weight, bias, value)
    torch.testing.assert_close(result.value, expected)
    last_step = explain_simple_res_block(weight, bias, value)[-1]
    assert last_step.endswith(f"= {float(result.value)!r}.")


@pytest.mark.parametrize(("weight", "bias", "value"), [(0.0, 1.0, 1.0), (0.5, -1.0, 0.5), (-0.25, 2.0, -1.5)])
def test_shown_code_prints_what_the_engine_reports(weight, bias, value):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(simple_res_block_code(weight, bias, value), {})  # our own template, never learner text
    assert printed.getvalue().strip() == predict_output(weight, bias, value).printed


def test_seed_code_is_shown_verbatim_for_the_seed_values():
    code = simple_res_block_code(0.0, 1.0, 1.0)
    assert "self.conv.weight.data.fill_(0.0)" in code
    assert "self.conv.bias.data.fill_(1.0)" in code
    assert "input_tensor = torch.ones(1, 3, 5, 5)" in code


def test_prediction_grading_uses_a_small_tolerance():
    result = predict_output(0.0, 1.0, 1.0)
    assert result.matches(2.0)
    assert result.matches(2.0004)
    assert not result.matches(1.0)


@pytest.mark.parametrize(("guess", "right"), [(2.0009, True), (1.9991, True), (2.0011, False), (1.9989, False),
                                              (2.25, False), (1.75, False), (-2.0, False)])
def test_prediction_tolerance_is_one_thousandth_either_side(guess, right):
    # The page's number input steps by 0.25: any tolerance of 0.25 or more would take the neighbouring value too.
    assert predict_output(0.0, 1.0, 1.0).matches(guess) is right


def test_prediction_tolerance_can_be_widened():
    result = predict_output(0.0, 1.0, 1.0)
    assert result.matches(2.3, tolerance=0.5) and not result.matches(2.6, tolerance=0.5)
