"""Trace overhead: a full trace (forward + stats + every array the page draws by default) vs a bare forward.

Also times a cached re-render: another stage selected, with the trace already computed, both as the
engine work it needs and as a whole Streamlit rerun under AppTest.

    python -m benchmarks.trace_speed [--repeats 15]

Every figure is a median with its range, the functions interleaved in alternating order; the ratio
is taken within each repeat. The full trace does more than the bare forward on purpose: the ratio
is what tracing and drawing add.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import torch

from benchmarks.timing import interleaved, paired_ratios, summary
from resnet_core.images import load_image_file
from resnet_core.render import feature_grid, input_picture, most_active, residual_panels
from resnet_core.samples import sample_path
from resnet_core.trace import Trace, Tracer
from resnet_core.weights import load_model

DEFAULT_STAGE = "residual_block"  # what the page opens on


def page_arrays(trace: Trace, key: str) -> list:
    """Every array the page draws for stage ``key``: input picture, grid, enlarged channel, skip panels."""
    stage = trace.stage(key)
    arrays = [input_picture(trace.stages[0].activation)]
    if stage.activation.dim() == 3 and stage.activation.shape[1] > 1:
        grid = feature_grid(stage.activation, count=min(16, stage.activation.shape[0]))
        arrays += [grid.image, stage.activation[grid.channels[0]].numpy()]
    for block in stage.blocks[:1]:
        arrays += list(residual_panels(block.x, block.fx, block.out, most_active(block.out, 1)[0]).values())
    return arrays


def timings_ms(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Milliseconds of every call of each function, interleaved in alternating order (benchmarks.timing)."""
    return {name: [s * 1000 for s in seconds] for name, seconds in interleaved(fns, repeats).items()}


def bench_model(name: str, repeats: int) -> dict[str, list[float]]:
    loaded = load_model(name, "none")
    tracer = Tracer(loaded.model, loaded.categories)
    x = loaded.preprocess(load_image_file(sample_path("cat")))

    def bare() -> None:
        with torch.inference_mode():
            loaded.model(x)

    def full() -> None:
        page_arrays(tracer(x), DEFAULT_STAGE)

    trace = tracer(x)
    return timings_ms(
        {"bare_ms": bare, "full_ms": full, "rerender_ms": lambda: page_arrays(trace, "stem")}, repeats
    )


def apptest_rerender_ms(repeats: int) -> float:
    """A whole Streamlit rerun after clicking another stage, with model and trace cached."""
    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parent.parent / "pages" / "pipeline_trace.py")
    app = AppTest.from_file(page, default_timeout=300).run()
    keys = ["flow_stem", "flow_residual_block"]
    samples = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        app.button(key=keys[i % 2]).click().run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"# {date.today()} · {machine} · {torch.get_num_threads()} torch threads · torch {torch.__version__}")
    print("| model | bare forward (ms) | full trace + arrays (ms) | ratio, paired per repeat | re-render arrays (ms) |")
    print("| --- | --- | --- | --- | --- |")
    for name in ("resnet18", "resnet50"):
        r = bench_model(name, args.repeats)
        ratio = summary(paired_ratios(r["full_ms"], r["bare_ms"]))
        print(f"| {name} | {summary(r['bare_ms'], 1)} | {summary(r['full_ms'], 1)} | {ratio} | "
              f"{summary(r['rerender_ms'], 1)} |")
    print(
        f"\nWhole Streamlit rerun after selecting another stage (AppTest, seed model, cached trace): "
        f"median {apptest_rerender_ms(args.repeats):.0f} ms"
    )


if __name__ == "__main__":
    main()
