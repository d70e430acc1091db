"""The tracer against torch itself: shapes, the skip addition, the logits, and no shared state."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import torch
from torch import nn
from torch.testing import assert_close
from torch.utils.flop_counter import FlopCounterMode

from resnet_core.models import MODEL_NAMES, build_model, residual_blocks, seed_resnet
from resnet_core.stages import STAGES
from resnet_core.trace import Tracer, seed_shape, shortcut_text, stats_of
from tests.conftest import shared

LESSON_TABLE = [  # the seed document's Data Flow: (input, output) per stage
    ("224 × 224 × 3", "224 × 224 × 3"),
    ("224 × 224 × 3", "56 × 56 × 64"),
    ("56 × 56 × 64", "56 × 56 × 64"),
    ("56 × 56 × 64", "56 × 56 × 256"),
    ("56 × 56 × 256", "1 × 1 × 256"),
    ("256", "1000"),
]


def _traced(name: str, size: int = 224):
    torch.manual_seed(0)
    model = build_model(name).eval()
    tracer = Tracer(model, [f"c{i}" for i in range(1000)])
    x = torch.randn(1, 3, size, size)
    return model, x, tracer(x)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def model_and_input(request):
    # The seed model at the lesson's 224; torchvision's at 96 to keep the suite fast.
    torch.manual_seed(0)
    model = build_model(request.param).eval()
    return model, torch.randn(1, 3, *(2 * [224 if request.param == "seed" else 96]))


@pytest.fixture(scope=shared)
def traced(model_and_input):
    model, x = model_and_input
    return model, x, Tracer(model, [f"c{i}" for i in range(1000)])(x)


def _forward_shapes(model: nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, tuple[int, ...]]:
    """Output shapes of the named modules, recorded by hooks on the model's own forward pass."""
    modules = dict(model.named_modules())
    shapes, handles = {}, []
    for name in names:
        hook = lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:]))  # noqa: E731
        handles.append(modules[name].register_forward_hook(hook))
    with torch.inference_mode():
        model(x)
    for handle in handles:
        handle.remove()
    return shapes


def test_seed_preset_reproduces_the_lessons_data_flow_table():
    _, _, trace = _traced("seed")
    table = [(seed_shape(s.input_shape), seed_shape(s.output_shape)) for s in trace.stages]
    assert table == LESSON_TABLE
    assert [s.stage.title for s in trace.stages] == [s.title for s in STAGES]
    # The lesson's stage 3 is one basic block, stage 4 two bottlenecks.
    assert [b.kind for s in trace.stages for b in s.blocks] == ["BasicBlock", "Bottleneck", "Bottleneck"]


def test_block_params_and_stats_are_those_of_the_block():
    model, _, trace = _traced("resnet18", size=64)
    modules = dict(model.named_modules())
    for block in (b for s in trace.stages for b in s.blocks):
        assert block.params == sum(p.numel() for p in modules[block.name].parameters())
        assert block.stats.mean == pytest.approx(block.out.mean().item(), rel=1e-5, abs=1e-7)
        assert block.stats.max == block.out.max().item()
    assert all(type(s.macs) is int and all(type(b.macs) is int for b in s.blocks) for s in trace.stages)


def test_a_model_in_training_mode_is_traced_in_evaluation_mode():
    torch.manual_seed(0)
    model = seed_resnet().train()
    x = torch.randn(1, 3, 64, 64)
    trace = Tracer(model, [])(x)
    assert not model.training  # BatchNorm uses its running statistics, as for any prediction
    with torch.inference_mode():
        assert_close(trace.logits, model(x)[0])


def test_costs_are_computed_once_for_the_usual_input_size(monkeypatch):
    tracer = Tracer(seed_resnet().eval(), [])
    assert tracer.input_size == 224
    calls = []
    original = Tracer._macs
    monkeypatch.setattr(Tracer, "_macs", lambda self, shape: calls.append(shape) or original(self, shape))
    tracer(torch.zeros(1, 3, 224, 224))
    assert calls == []  # the page's 224 x 224 crop reuses the costs computed at construction
    tracer(torch.zeros(1, 3, 64, 64))
    assert calls == [(1, 3, 64, 64)]


def test_stage_and_block_shapes_match_the_models_own_forward_pass(traced):
    model, x, trace = traced
    blocks = [name for name, _ in residual_blocks(model)]
    shapes = _forward_shapes(model, x, ["maxpool", "avgpool", "fc", *blocks])
    by_key = {s.stage.key: s for s in trace.stages}
    assert by_key["input"].output_shape == tuple(x.shape[1:])
    assert by_key["stem"].output_shape == shapes["maxpool"]
    assert by_key["residual_block"].output_shape == shapes[blocks[0]]
    assert by_key["stacked_blocks"].output_shape == shapes[blocks[-1]]
    assert by_key["global_pool"].output_shape == shapes["avgpool"]
    assert by_key["classifier"].output_shape == shapes["fc"]
    traced_blocks = [b for s in trace.stages for b in s.blocks]
    assert [b.name for b in traced_blocks] == blocks
    assert all(b.output_shape == shapes[b.name] for b in traced_blocks)
    assert [b.input_shape for b in traced_blocks] == [shapes["maxpool"]] + [shapes[n] for n in blocks[:-1]]
    for stage, following in zip(trace.stages, trace.stages[1:], strict=False):
        assert following.input_shape in (stage.output_shape, (stage.output_shape[0],))


def test_relu_of_residual_plus_shortcut_equals_the_block_output(traced):
    model, _, trace = traced
    modules = dict(model.named_modules())
    for block in (b for s in trace.stages for b in s.blocks):
        assert_close(torch.relu(block.fx + block.x), block.out)
        # torch as the reference: the real module run on the recorded input gives the same output.
        previous = _block_input(trace, block.name)
        with torch.inference_mode():
            expected = modules[block.name](previous.unsqueeze(0).clone())[0]
        assert_close(block.out, expected)


def _residual_branch(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The reference F(x): the block's own layers re-run out of place, up to and including the last BatchNorm."""
    with torch.inference_mode():
        out = torch.relu(block.bn1(block.conv1(x)))
        if hasattr(block, "conv3"):  # bottleneck: 1x1, 3x3, 1x1
            out = torch.relu(block.bn2(block.conv2(out)))
            return block.bn3(block.conv3(out))
        return block.bn2(block.conv2(out))


def _check_branches_against_the_blocks_own_layers(model, trace):
    modules = dict(model.named_modules())
    for block in (b for s in trace.stages for b in s.blocks):
        module = modules[block.name]
        x_in = _block_input(trace, block.name).unsqueeze(0)
        assert_close(block.fx, _residual_branch(module, x_in)[0])
        with torch.inference_mode():
            shortcut = module.downsample(x_in)[0] if module.downsample is not None else x_in[0]
        assert_close(block.x, shortcut)
        assert block.fx.min() < 0  # a BatchNorm output, not yet through the final ReLU


def test_fx_is_the_residual_branch_before_the_addition(traced):
    model, _, trace = traced
    _check_branches_against_the_blocks_own_layers(model, trace)


def _block_input(trace, name):
    blocks = [b for s in trace.stages for b in s.blocks]
    index = [b.name for b in blocks].index(name)
    return blocks[index - 1].out if index else trace.stage("stem").activation


def test_traced_logits_equal_the_models_forward(traced):
    model, x, trace = traced
    with torch.inference_mode():
        expected = model(x)[0]
    assert_close(trace.logits, expected)
    probs = torch.softmax(expected, 0)
    assert [p.index for p in trace.top_k] == torch.topk(probs, 5).indices.tolist()
    assert_close(torch.tensor([p.prob for p in trace.top_k]), torch.topk(probs, 5).values)
    assert [p.label for p in trace.top_k] == [f"c{p.index}" for p in trace.top_k]


def test_shortcuts_are_identified_with_their_strides():
    _, _, trace = _traced("resnet18", size=64)
    kinds = {b.name: (b.shortcut, b.shortcut_stride) for s in trace.stages for b in s.blocks}
    assert kinds["layer1.0"] == ("identity", 1)
    assert kinds["layer2.0"] == ("projection", 2)
    assert kinds["layer2.1"] == ("identity", 1)


def test_params_and_macs_add_up_to_the_whole_model():
    model, _, trace = _traced("resnet18")
    assert sum(s.params for s in trace.stages) == sum(p.numel() for p in model.parameters())
    assert abs(sum(s.macs for s in trace.stages) / 1.814e9 - 1) < 0.01  # ResNet-18: 1.81 GMACs


def test_macs_match_torchs_flop_counter(traced):
    # torch as the reference: FlopCounterMode counts 2 FLOPs per multiply-add of every conv and linear layer.
    model, x, trace = traced
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = {name.removeprefix("ResNet."): sum(c.values()) for name, c in counter.get_flop_counts().items()}
    assert sum(s.macs for s in trace.stages) * 2 == counter.get_total_flops()
    for block in (b for s in trace.stages for b in s.blocks):
        assert block.macs * 2 == flops[block.name], block.name
    assert trace.stage("classifier").macs * 2 == flops["fc"]
    assert trace.stage("input").macs == trace.stage("global_pool").macs == 0


def test_top_k_is_at_most_the_number_of_classes_and_unnamed_classes_get_a_number():
    torch.manual_seed(0)
    model = build_model("seed", num_classes=3).eval()
    x = torch.randn(1, 3, 64, 64)
    trace = Tracer(model, ["circle"])(x, top_k=5)
    with torch.inference_mode():
        probs = torch.softmax(model(x)[0], 0)
    assert [p.index for p in trace.top_k] == torch.argsort(probs, descending=True).tolist()
    assert_close(sum(p.prob for p in trace.top_k), 1.0)
    assert {p.index: p.label for p in trace.top_k} == {0: "circle", 1: "class 1", 2: "class 2"}
    assert len(Tracer(model, [])(x, top_k=1).top_k) == 1


def test_tracer_refuses_anything_but_one_image():
    tracer = Tracer(seed_resnet().eval(), [])
    for shape in [(2, 3, 32, 32), (3, 32, 32)]:
        with pytest.raises(ValueError, match=r"expected one image of shape \(1, 3, H, W\)"):
            tracer(torch.zeros(shape))


def test_lesson_notation_and_shortcut_descriptions():
    assert seed_shape((64, 56, 56)) == "56 × 56 × 64"  # (C, H, W) -> H × W × C, as the lesson writes it
    assert seed_shape((3, 224, 100)) == "224 × 100 × 3"
    assert seed_shape((256,)) == "256"
    assert seed_shape((1, 1000)) == "1 × 1000"
    _, _, trace = _traced("resnet18", size=64)
    blocks = {b.name: b for s in trace.stages for b in s.blocks}
    assert shortcut_text(blocks["layer1.0"]) == "identity shortcut"
    assert shortcut_text(blocks["layer3.0"]) == "1×1 projection shortcut, stride 2"
    plain = Tracer(seed_resnet(skip=False).eval(), [])(torch.zeros(1, 3, 32, 32))
    assert shortcut_text(plain.stages[2].blocks[0]) == "no shortcut (plain)"


def test_stats_of_a_known_tensor():
    # mean (-2 + 0 + 2 + 4) / 4 = 1; variance (9 + 1 + 1 + 9) / 4 = 5 (population, as the page shows); one zero in four.
    stats = stats_of(torch.tensor([[-2.0, 0.0], [2.0, 4.0]]))
    assert (stats.mean, stats.min, stats.max, stats.zeros) == (1.0, -2.0, 4.0, 0.25)
    assert stats.std == pytest.approx(5**0.5)
    # For a constant, rms² - mean² rounds to -0.0003 in float32: the std is clamped at 0, not the root of a negative.
    assert stats_of(torch.full((3,), 100.1)).std == 0.0


def test_stats_match_torch():
    _, _, trace = _traced("seed", size=64)
    stem = trace.stage("stem")
    assert stem.stats.mean == pytest.approx(stem.activation.mean().item(), rel=1e-5)
    assert stem.stats.std == pytest.approx(stem.activation.std(correction=0).item(), rel=1e-4)
    assert stem.stats.min == pytest.approx(stem.activation.min().item())
    assert stem.stats.max == pytest.approx(stem.activation.max().item())
    assert stem.stats.zeros == pytest.approx((stem.activation == 0).float().mean().item())


def test_tracer_leaves_the_shared_model_untouched_and_is_thread_safe():
    torch.manual_seed(0)
    model = seed_resnet().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tracer = Tracer(model, [])
    images = [torch.randn(1, 3, 64, 64) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        traces = list(pool.map(tracer, images * 2))
    for x, trace in zip(images * 2, traces, strict=True):
        with torch.inference_mode():
            assert_close(trace.logits, model(x)[0])
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_plain_twin_has_no_shortcut_in_the_trace():
    torch.manual_seed(0)
    model = seed_resnet(skip=False).eval()
    trace = Tracer(model, [])(torch.randn(1, 3, 64, 64))
    blocks = [b for s in trace.stages for b in s.blocks]
    assert {b.shortcut for b in blocks} == {"none"}
    for block in blocks:
        assert_close(torch.relu(block.fx), block.out)
        # F(x) is the branch before the final ReLU, not the block output under a second name.
        assert not torch.equal(block.fx, block.out)
    _check_branches_against_the_blocks_own_layers(model, trace)
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))  # the model itself is untouched


SMALL = "a small correction: the block mostly passes its input on"
LARGE = "a large correction, though still smaller than the input it is added to"
AS_LARGE = "F(x) is as large as x: a correction the size of the input itself"
OUTWEIGHS = "F(x) outweighs x: the block rewrites its input more than it corrects it"


@pytest.mark.parametrize(
    ("ratio", "words"),
    [(0.0, SMALL), (0.499, SMALL), (0.5, LARGE), (0.999, LARGE), (1.0, AS_LARGE), (1.001, OUTWEIGHS),
     (1.75, OUTWEIGHS)],
)
def test_the_skip_caption_rule_draws_its_conclusion_from_the_measured_ratio(ratio, words):
    from resnet_core.trace import change_words

    assert change_words(ratio) == words


def test_change_ratio_is_the_l2_norm_of_fx_over_the_norm_of_x():
    from resnet_core.trace import change_ratio

    model = build_model("seed").eval()
    picture = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    trace = Tracer(model, [str(i) for i in range(1000)])(picture)
    block = trace.stages[2].blocks[0]
    assert change_ratio(block) == pytest.approx((block.fx.norm() / block.x.norm()).item(), rel=1e-6)


def test_change_ratio_of_small_and_zero_inputs():
    """|x| below 1 is divided by as it is; only an all-zero x is held off zero (no division by 0)."""
    from resnet_core.trace import change_ratio

    block = _traced("seed")[2].stages[2].blocks[0]
    x = torch.zeros_like(block.x)
    x.view(-1)[0] = 0.25
    fx = torch.zeros_like(block.fx)
    fx.view(-1)[0] = 0.5
    assert change_ratio(replace(block, x=x, fx=fx)) == pytest.approx(2.0)
    assert change_ratio(replace(block, x=torch.zeros_like(x), fx=fx)) == pytest.approx(0.5 / 1e-12)


def test_stage_three_explains_its_own_first_block_in_words():
    from resnet_core.stages import BRANCHES, SHORTCUTS
    from resnet_core.trace import explain

    trace = _traced("seed")[2]
    stem, stage = trace.stage("stem"), trace.stage("residual_block")
    assert explain(stem) == stem.stage.explain  # no blocks: the paragraph as written
    first = stage.blocks[0]
    second = replace(first, kind="Bottleneck", shortcut="projection")
    text = explain(replace(stage, blocks=(first, second)))  # the first block's words, not the second's
    assert text == stage.stage.explain.format(branch=BRANCHES["BasicBlock"], shortcut=SHORTCUTS["identity"])
    assert "{" not in text and BRANCHES["BasicBlock"] in text and SHORTCUTS["identity"] in text
    odd = explain(replace(stage, blocks=(replace(first, kind="MysteryBlock", shortcut="mystery"),)))
    assert "computes a correction F(x) with MysteryBlock, then mystery:" in odd  # unknown names shown as they are
