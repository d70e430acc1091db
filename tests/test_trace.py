"""The tracer against torch itself: shapes, the skip addition, the logits, and no shared state."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from resnet_core.models import MODEL_NAMES, build_model, residual_blocks, seed_resnet
from resnet_core.stages import STAGES
from resnet_core.trace import Tracer, seed_shape

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
def traced(request):
    # The seed model at the lesson's 224; torchvision's at 96 to keep the suite fast.
    return _traced(request.param, 224 if request.param == "seed" else 96)


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
    model = seed_resnet(skip=False).eval()
    trace = Tracer(model, [])(torch.randn(1, 3, 64, 64))
    blocks = [b for s in trace.stages for b in s.blocks]
    assert {b.shortcut for b in blocks} == {"none"}
    for block in blocks:
        assert_close(torch.relu(block.fx), block.out)


def test_importing_the_engine_does_not_import_streamlit():
    code = (
        "import sys, resnet_core, resnet_core.cli, resnet_core.trace, resnet_core.weights, "
        "resnet_core.render, resnet_core.trace_api; "
        "sys.exit(1 if 'streamlit' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
