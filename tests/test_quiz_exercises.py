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
    SimpleResBlock,
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
    assert result.spec == BlockSpec(64, 56, 64, 1, "identity")
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


# --- what the lab shows, word for word: the numbers come from the spec (stride 2 halves 32 to 16) ----------------


def test_lab_steps_describe_each_op_with_the_specs_numbers():
    steps = run_block(BlockSpec(64, 32, 128, 2, "projection")).steps
    assert [(s.name, s.op, s.shape) for s in steps] == [
        ("input", "x", (1, 64, 32, 32)),
        ("conv1", "3×3 conv 64→128, stride 2, padding 1", (1, 128, 16, 16)),
        ("bn1 + relu", "BatchNorm, ReLU", (1, 128, 16, 16)),
        ("conv2 + bn2", "3×3 conv 128→128, padding 1, BatchNorm", (1, 128, 16, 16)),
        ("shortcut", "1×1 conv 64→128, stride 2 + BN", (1, 128, 16, 16)),
        ("add", "out + shortcut", (1, 128, 16, 16)),
        ("output", "ReLU (after the add)", (1, 128, 16, 16)),
    ]
    identity = {s.name: s.op for s in run_block(BlockSpec(64, 8, 64, 1, "identity")).steps}
    assert (identity["shortcut"], identity["add"]) == ("identity: x as it is", "out + shortcut")
    plain = {s.name: s.op for s in run_block(BlockSpec(64, 8, 64, 1, "none")).steps}
    assert (plain["shortcut"], plain["add"]) == ("none (plain block)", "nothing to add")


def test_lab_explains_a_clash_in_every_dimension():
    spec = BlockSpec(64, 32, 128, 2, "identity")
    result = run_block(spec)
    assert result.spec == spec and result.broken == ("channels", "height", "width")
    assert result.explanation == (
        ("What broke", "channels (128 on the main path, 64 on the shortcut), height (16 on the main path, 32 on the "
                       "shortcut) and width (16 on the main path, 32 on the shortcut) differ between the two tensors "
                       "being added."),
        ("Why", "Conv1 (the first 3×3 conv) turns 64 channels into 128 and stride 2 shrinks 32×32 to 16×16, so the "
                "main path ends with (1, 128, 16, 16); the identity shortcut still carries x unchanged, "
                "(1, 64, 32, 32). Tensors can only be added element by element when every dimension matches."),
        ("Reading the message", "Shapes are (batch, channels, height, width): dimension 1 is channels, 2 and 3 are "
                                "height and width. PyTorch names only dimension 3: it compares shapes from the last "
                                "dimension backwards and stops at the first clash."),
        ("Fix", "Use a 1×1 projection shortcut: a 1×1 conv 64→128 with stride 2 turns x into (1, 128, 16, 16) too."),
    )
    assert result.error == torch_message((1, 128, 16, 16), (1, 64, 32, 32))  # PyTorch names dimension 3


def test_lab_reads_a_channel_only_message_without_the_backwards_note():
    result = run_block(BlockSpec(128, 8, 64, 1, "identity"))
    assert dict(result.explanation)["Reading the message"] == (
        "Shapes are (batch, channels, height, width): dimension 1 is channels, 2 and 3 are height and width."
    )
    assert dict(result.explanation)["Why"].startswith("Conv1 (the first 3×3 conv) turns 128 channels into 64, so ")


@pytest.mark.parametrize(
    ("spec", "explanation"),
    [
        (BlockSpec(64, 32, 128, 2, "projection"), ("It works", "The 1×1 projection turns x (1, 64, 32, 32) into "
         "(1, 128, 16, 16), the same shape as the main path, so the add works. It costs parameters, so ResNets use it "
         "only where the shape changes.")),
        (BlockSpec(64, 32, 128, 2, "none"), ("Runs, but no skip connection", "This is a plain block: nothing is "
         "added, so the output (1, 128, 16, 16) comes from the two convolutions alone. Deep stacks of blocks without "
         "skip connections are hard to train.")),
        (BlockSpec(64, 32, 64, 1, "identity"), ("It works", "Both paths have shape (1, 64, 32, 32), so the identity "
         "shortcut adds x unchanged: a skip connection with no parameters at all.")),
    ],
    ids=["projection", "none", "identity"],
)
def test_lab_explains_a_block_that_runs(spec, explanation):
    assert run_block(spec).explanation == (explanation,)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (BlockSpec(in_channels=1025), "in_channels must be between 1 and 1024, got 1025"),
        (BlockSpec(size=0), "size must be between 1 and 1024, got 0"),
        (BlockSpec(out_channels=2000), "out_channels must be between 1 and 1024, got 2000"),
        (BlockSpec(shortcut="maxpool"), "shortcut must be one of identity, projection, none, got 'maxpool'"),
    ],
)
def test_each_out_of_range_field_is_named(spec, message):
    with pytest.raises(ValueError) as error:
        spec.validate()
    assert str(error.value) == message


def test_the_extremes_of_every_range_are_accepted():
    BlockSpec(in_channels=1, size=1, out_channels=1024, stride=1).validate()
    BlockSpec(in_channels=1024, size=1024, out_channels=1, stride=2).validate()
    assert run_block(BlockSpec(1, 1, 1, 2, "projection")).shape("output") == (1, 1, 1, 1)  # ceil(1 / 2) = 1


def test_shortcut_params_follow_the_stride_too():
    # Same channels but stride 2: the shortcut must downsample, so it is a 1x1 conv (64 x 64) plus BN (2 x 64).
    assert block_shortcut_params(64, 64, 2) == 64 * 64 + 2 * 64


# --- the worked explanation of "predict the output", checked against torch's own corner pixel ------------------


def corner_of_conv(weight: float, bias: float, value: float) -> float:
    """The convolution's output at [0, 0, 0, 0], before ReLU, computed by torch."""
    x = torch.full((1, 3, 5, 5), value)
    return F.conv2d(x, torch.full((3, 3, 3, 3), weight), torch.full((3,), bias), padding=1)[0, 0, 0, 0].item()


def test_explanation_of_a_nonzero_weight_counts_the_corner_taps():
    steps = explain_simple_res_block(0.25, -2.0, 1.0)
    conv = corner_of_conv(0.25, -2.0, 1.0)  # -2 + 12 x 0.25 x 1 = 1
    assert steps == (
        "Pixel [0, 0, 0, 0] is a corner. With padding 1, only 2×2 of the 3×3 kernel taps land on the image, for each "
        "of the 3 input channels: 12 inputs of 1.0, each times the weight 0.25. Conv = bias + 12 × weight × input = "
        f"-2.0 + 12 × 0.25 × 1.0 = {conv!r}.",
        f"ReLU keeps {conv!r} (it is not negative).",
        f"The skip connection adds x = 1.0: {conv!r} + 1.0 = {reference_simple_res_block(0.25, -2.0, 1.0)!r}.",
    )


def test_explanation_of_a_negative_convolution_says_relu_clips_it():
    steps = explain_simple_res_block(-0.5, 1.0, 1.0)
    assert corner_of_conv(-0.5, 1.0, 1.0) == -5.0  # 1 - 12 x 0.5
    assert steps[1:] == (
        "ReLU turns -5.0 into 0.0 (it is negative).",
        "The skip connection adds x = 1.0: 0.0 + 1.0 = 1.0.",
    )


@pytest.mark.parametrize(("bias", "kept"), [(0.0, "0.0"), (0.5, "0.5")])
def test_explanation_of_a_zero_weight_is_the_bias_and_relu_keeps_zero_and_fractions(bias, kept):
    steps = explain_simple_res_block(0.0, bias, 1.0)
    assert steps[0] == (
        "The weights are all 0, so every product in the convolution is 0 and it outputs exactly its bias: "
        f"{kept} everywhere (padding does not matter when the weights are 0)."
    )
    assert steps[1] == f"ReLU keeps {kept} (it is not negative)."


def test_defaults_are_the_lessons_values():
    # The seed's code fills the weights with 0 and the bias with 1 and feeds torch.ones.
    assert simple_res_block_code() == simple_res_block_code(0.0, 1.0, 1.0)
    assert explain_simple_res_block() == explain_simple_res_block(0.0, 1.0, 1.0)
    assert predict_output() == predict_output(0.0, 1.0, 1.0)
    block = SimpleResBlock()
    assert (block.conv.weight == 0).all() and (block.conv.bias == 1).all()
    assert (block.conv.in_channels, block.conv.out_channels, block.conv.padding) == (3, 3, (1, 1))


def test_prediction_records_the_values_it_ran_with():
    result = predict_output(weight=0.25, bias=-2, input_value=1.5)
    assert (result.weight, result.bias, result.input_value) == (0.25, -2.0, 1.5)
    assert all(isinstance(v, float) for v in (result.weight, result.bias, result.input_value))
