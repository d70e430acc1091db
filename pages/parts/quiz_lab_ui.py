"""The Quiz page's first exercise: the shape-mismatch lab (build a residual block, run a real tensor)."""

from __future__ import annotations

import streamlit as st

from resnet_core.quiz_exercises import SHORTCUTS, BlockSpec, LabResult, run_block

__all__ = ["lab_ui"]

SHORTCUT_LABELS = {
    "identity": "Identity: add x as it is",
    "projection": "1×1 projection: 1×1 conv with the block's stride",
    "none": "None: no skip connection (plain block)",
}
CHANNELS = [3, 16, 32, 64, 128, 256, 512]
SIZES = [7, 8, 14, 16, 28, 32, 56]


@st.cache_data(max_entries=64, show_spinner=False)
def lab_run(in_channels: int, size: int, out_channels: int, stride: int, shortcut: str) -> LabResult:
    """The shape-mismatch lab for one set of widget values."""
    return run_block(BlockSpec(in_channels, size, out_channels, stride, shortcut))


def _lab_apply_fix() -> None:
    st.session_state.qz_lab_shortcut = "projection"


def lab_spec_ui() -> BlockSpec:
    """Widgets for one residual block; returns the spec they describe."""
    left, right = st.columns(2)
    in_channels = left.selectbox("Input channels", CHANNELS, index=3, key="qz_lab_in")
    size = left.selectbox("Input height = width", SIZES, index=5, key="qz_lab_size")
    out_channels = right.selectbox("Output channels (conv1, conv2)", CHANNELS, index=4, key="qz_lab_out")
    stride = right.radio("Stride of conv1", [1, 2], index=1, horizontal=True, key="qz_lab_stride")
    shortcut = st.radio("Shortcut", list(SHORTCUTS), format_func=SHORTCUT_LABELS.get, key="qz_lab_shortcut")
    return BlockSpec(in_channels, size, out_channels, stride, shortcut)


def lab_dot(result: LabResult) -> str:
    """Graphviz DOT of the block, each box showing its output shape (C×H×W); a failed add is red."""
    spec, red, grey = result.spec, "#d1495b", "#555555"
    shapes = {step.name: step.shape for step in result.steps}

    def box(node: str, text: str, step: str, fill: str = "#f4f1ea") -> str:
        shape = shapes[step]
        size = "×".join(str(d) for d in shape[1:]) if shape else "not reached"
        return f'{node} [label="{text}\\n{size}" fillcolor="{fill}"];'

    lines = [
        "digraph block {",
        "rankdir=TB; bgcolor=transparent; nodesep=0.3; ranksep=0.25;",
        'node [shape=box style="rounded,filled" fontname="Helvetica" fontsize=14 margin="0.12,0.06"];',
        f'edge [color="{grey}" fontname="Helvetica" fontsize=12];',
        box("x", "input x", "input"),
        box("conv1", f"3×3 conv, stride {spec.stride}", "conv1"),
        box("bn1", "BN + ReLU", "bn1 + relu"),
        box("conv2", "3×3 conv + BN", "conv2 + bn2"),
        box("out", "ReLU: output", "output"),
        "x -> conv1 -> bn1 -> conv2;",
    ]
    if spec.shortcut == "none":
        lines.append("conv2 -> out;")
    else:
        color = grey if result.ok else red
        fill = "#f4f1ea" if result.ok else "#f6d5da"
        lines += [
            f'add [label="+" shape=circle fillcolor="{fill}" color="{color}" fontsize=20];',
            f'conv2 -> add [color="{color}"]; add -> out;',
        ]
        if spec.shortcut == "projection":
            lines += [
                box("proj", f"1×1 conv, stride {spec.stride} + BN", "shortcut", "#e3eef7"),
                "x -> proj -> add;",
            ]
        else:
            size = "×".join(str(d) for d in shapes["shortcut"][1:])
            lines.append(f'x -> add [label="identity: {size}" color="{color}" fontcolor="{color}"];')
    lines.append("}")
    return "\n".join(lines)


def lab_result_ui(result: LabResult) -> None:
    """The error (verbatim) with what broke and the fix, or the success; then the diagram and table."""
    notes = "\n".join(f"- **{heading}:** {text}" for heading, text in result.explanation)
    if len(result.explanation) == 1:
        notes = notes.removeprefix("- ")
    if result.ok:
        st.success(notes, icon=":material/check_circle:")
    else:
        st.error("PyTorch raised `RuntimeError` at the add:", icon=":material/error:")
        st.code(result.error, language=None, wrap_lines=True)
        st.markdown(notes)
        if result.fix is not None:
            st.button("Apply the fix: 1×1 projection", key="qz_lab_fix", on_click=_lab_apply_fix)
    diagram, table = st.columns([2, 3])
    diagram.caption("Each box shows the shape it outputs: channels × height × width (batch size 1).")
    diagram.graphviz_chart(lab_dot(result))
    rows = [
        {"Step": s.name, "What it does": s.op, "Shape (N, C, H, W)": str(s.shape) if s.shape else "–"}
        for s in result.steps
    ]
    table.dataframe(rows, hide_index=True, width="stretch")


def lab_ui() -> None:
    """Exercise 1: build a residual block, run a real tensor through it, see each shape or the error."""
    st.write(
        "A residual block adds its input x to the output of two 3×3 convolutions. That only works if "
        "both have the **same shape**. Build a block, press **Run**, and PyTorch runs a real tensor "
        "through it."
    )
    spec = lab_spec_ui()
    if st.button("Run", key="qz_lab_run", type="primary"):
        st.session_state.qz_lab_ran = True
    if st.session_state.get("qz_lab_ran"):
        lab_result_ui(lab_run(spec.in_channels, spec.size, spec.out_channels, spec.stride, spec.shortcut))
