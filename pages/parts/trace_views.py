"""Drawing one trace: the six-stage flow, a stage's detail, a residual block's skip addition."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from resnet_core.render import feature_grid, most_active, residual_panels
from resnet_core.trace import (
    BlockTrace,
    StageTrace,
    Trace,
    change_ratio,
    change_words,
    explain,
    seed_shape,
    shortcut_text,
)

GRID_CHANNELS = 16
LESSON_CLASSES = 1000  # the lesson's stage 6: "Probabilities for 1000 object categories"
WEIGHT_COLOURS = ("#d1495b", "#3b528b", "#2a9d8f", "#e9a23b")


def torch_shape(shape: tuple[int, ...]) -> str:
    """PyTorch's notation, with the batch of one: [1, 64, 56, 56]."""
    return str([1, *shape])


def flow(trace: Trace, selected: str) -> None:
    """The six stages side by side with both shape notations; a button selects a stage."""
    widths = [5, 1] * (len(trace.stages) - 1) + [5]
    columns = st.columns(widths, gap="small", vertical_alignment="center")
    for arrow in columns[1::2]:
        arrow.markdown("### →")
    for column, stage in zip(columns[::2], trace.stages, strict=True):
        with column.container(border=True):
            st.caption(f"Stage {stage.stage.number}")
            st.markdown(f"**{stage.stage.title}**")
            st.markdown(f"#### {seed_shape(stage.output_shape)}")
            st.caption(f"PyTorch `{torch_shape(stage.output_shape)}`")
            st.button(
                "Inspecting" if stage.stage.key == selected else "Inspect",
                key=f"flow_{stage.stage.key}",
                type="primary" if stage.stage.key == selected else "secondary",
                width="stretch",
                on_click=st.session_state.__setitem__,
                args=("stage", stage.stage.key),
            )


def stage_detail(trace: Trace, key: str, by_weights: dict[str, Trace] | None = None) -> None:
    """Explain one stage, its numbers and its output; residual stages also open their blocks.

    ``by_weights``: the same picture traced with each set of weights, for the residual-size chart.
    """
    stage = trace.stage(key)
    st.subheader(f"Stage {stage.stage.number}: {stage.stage.title}")
    st.markdown(f"**In the lesson:** {stage.stage.does} → *{stage.stage.shows}*")
    st.write(explain(stage))
    a, b, c, d = st.columns(4)
    a.metric("Input", seed_shape(stage.input_shape), help=f"PyTorch: {torch_shape(stage.input_shape)}")
    b.metric("Output", seed_shape(stage.output_shape), help=f"PyTorch: {torch_shape(stage.output_shape)}")
    c.metric("Parameters", f"{stage.params:,}")
    d.metric("Multiply-adds", f"{stage.macs / 1e6:,.0f} M", help="Of its convolutions and linear layer.")
    st.caption(f"In PyTorch: `{torch_shape(stage.input_shape)}` → `{torch_shape(stage.output_shape)}`")
    s = stage.stats
    st.caption(
        f"Output statistics: mean {s.mean:.3f} · std {s.std:.3f} · min {s.min:.3f} · max {s.max:.3f} · "
        f"{s.zeros:.0%} exactly zero" + (" (switched off by ReLU)" if s.min >= 0 else "")
    )
    VIEWS[stage.stage.view](trace, stage)
    if stage.blocks:
        blocks_view(stage)
        st.plotly_chart(change_figure(by_weights or {"these weights": trace}), key=f"change_{stage.stage.key}")
        st.caption("|F(x)| / |x| for every residual block of the model, from the input to the output: how large "
                   "each block's correction is next to what it is added to. Trained weights and random ones differ; "
                   "compare them here on the same picture.")


def maps_view(trace: Trace, stage: StageTrace) -> None:
    """The most active feature maps as a grid, and one channel enlarged with its values."""
    activation = stage.activation
    count = min(GRID_CHANNELS, activation.shape[0])
    grid = feature_grid(activation, count=count, columns=8 if count > 8 else count)
    left, right = st.columns([3, 2])
    left.image(grid.image, width="stretch", clamp=True, caption=(
        f"The {count} most active of {activation.shape[0]} channels (strongest first, each on its own "
        "colour scale: yellow = strong, purple = weak)."))
    channel = right.selectbox("Enlarge channel", grid.channels, key=f"channel_{stage.stage.key}",
                              format_func=lambda c: f"channel {c}")
    right.plotly_chart(heatmap(activation[channel].numpy(), f"channel {channel}"),
                       key=f"heat_{stage.stage.key}")


def vector_view(trace: Trace, stage: StageTrace) -> None:
    """A pooled vector: its largest entries as bars."""
    st.plotly_chart(vector_figure(stage), key=f"vector_{stage.stage.key}")


def predictions_view(trace: Trace, stage: StageTrace) -> None:
    """The top-5 classes as a horizontal bar chart, and how many classes this layer has against the lesson's 1000."""
    st.plotly_chart(predictions_figure(trace), key="predictions")
    classes = trace.logits.numel()
    if classes != LESSON_CLASSES:
        st.caption(f"This fully connected layer outputs {classes} scores, not the lesson's {LESSON_CLASSES:,}: these "
                   f"weights were trained on {classes} classes, so every picture is scored against those "
                   "alone. Weights **none** give the lesson's 1000-way layer (untrained).")


VIEWS = {"maps": maps_view, "vector": vector_view, "predictions": predictions_view}


def blocks_view(stage: StageTrace) -> None:
    """Every block of the stage as a table, then one block opened: x, F(x) and ReLU(F(x) + x)."""
    st.markdown("#### Inside the residual blocks")
    st.dataframe(
        [{"block": b.name, "type": b.kind, "input": seed_shape(b.input_shape),
          "output": seed_shape(b.output_shape), "shortcut": shortcut_text(b), "parameters": b.params}
         for b in stage.blocks],
        hide_index=True,
    )
    names = [b.name for b in stage.blocks]
    name = st.selectbox("Open block", names, key=f"block_{stage.stage.key}") if len(names) > 1 else names[0]
    skip_addition(next(b for b in stage.blocks if b.name == name))


def skip_addition(block: BlockTrace) -> None:
    """The skip connection made visible for one channel, on one shared colour scale."""
    channel = st.selectbox("Channel", most_active(block.out, 16), key=f"skip_channel_{block.name}",
                           format_func=lambda c: f"channel {c}",
                           help="The 16 channels with the strongest block output, strongest first.")
    st.plotly_chart(skip_figure(block, channel), key=f"skip_{block.name}")
    ratio = round(change_ratio(block), 2)  # the caption's words follow the number it shows
    st.caption(
        f"Red is positive, blue negative. Over the whole block |F(x)| is {ratio:.0%} of |x|: {change_words(ratio)}. "
        + ("x is the input itself (identity shortcut: no parameters)." if block.shortcut == "identity"
           else "x first goes through a 1×1 convolution so its shape matches F(x).")
    )


def heatmap(values: np.ndarray, title: str) -> go.Figure:
    """One feature map with a colour bar of its real values."""
    # Data and layout in one constructor: plotly validates once (update_* calls each validate again).
    return go.Figure(
        go.Heatmap(z=values, colorscale="Viridis"),
        layout=dict(title=title, height=320, margin=dict(t=40, b=10, l=10, r=10),
                    xaxis=dict(showticklabels=False),
                    yaxis=dict(autorange="reversed", showticklabels=False, scaleanchor="x")),
    )


def side_by_side(panels: list[np.ndarray], titles: list[str], limit: float, gap: float = 0.04) -> go.Figure:
    """Heatmaps in one row on a shared symmetric colour scale, each square and titled.

    The layout of ``make_subplots`` written out directly: building it through ``make_subplots``
    and ``update_*axes`` took about a fifth of a whole page rerun.
    """
    width = (1 - gap * (len(panels) - 1)) / len(panels)
    data, layout = [], dict(height=330, margin=dict(t=40, b=10, l=10, r=10), annotations=[])
    for i, (values, title) in enumerate(zip(panels, titles, strict=True)):
        n = "" if i == 0 else str(i + 1)
        left = i * (width + gap)
        data.append(go.Heatmap(z=values, zmin=-limit, zmax=limit, colorscale="RdBu_r",
                               showscale=i == len(panels) - 1, xaxis=f"x{n}", yaxis=f"y{n}"))
        layout[f"xaxis{n}"] = dict(domain=[left, left + width], anchor=f"y{n}", showticklabels=False,
                                   scaleanchor=f"y{n}")
        layout[f"yaxis{n}"] = dict(domain=[0, 1], anchor=f"x{n}", autorange="reversed", showticklabels=False)
        layout["annotations"].append(dict(text=title, x=left + width / 2, y=1, xref="paper", yref="paper",
                                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=16)))
    return go.Figure(data, layout)


# --- figures: pure builders, used by the views above and by the server's start-up warm-up ---------------


def change_figure(traces: dict[str, Trace]) -> go.Figure:
    """|F(x)| / |x| of every residual block, input to output, one line per weights (same picture)."""
    lines = []
    for (label, trace), colour in zip(traces.items(), WEIGHT_COLOURS, strict=False):
        blocks = [b for stage in trace.stages for b in stage.blocks]
        lines.append(go.Scatter(x=[b.name for b in blocks], y=[change_ratio(b) for b in blocks], name=label,
                                mode="lines+markers", line_color=colour))
    return go.Figure(lines, layout=dict(
        title="How much each block changes its input: |F(x)| / |x|", height=320, yaxis_title="|F(x)| / |x|",
        xaxis_title="residual block (input → output)", yaxis_rangemode="tozero",
        shapes=[dict(type="line", xref="paper", x0=0, x1=1, y0=1, y1=1, line=dict(dash="dot", color="#999"))],
        margin=dict(t=40, b=30, l=10, r=10)))


def figures(trace: Trace) -> list[go.Figure]:
    """One of every figure the trace page draws, built from ``trace`` by the page's own builders."""
    maps = next(stage for stage in trace.stages if stage.stage.view == "maps")
    vector = next(stage for stage in trace.stages if stage.stage.view == "vector")
    block = next(b for stage in trace.stages for b in stage.blocks)
    return [
        heatmap(maps.activation[0].numpy(), "channel 0"),
        vector_figure(vector),
        predictions_figure(trace),
        skip_figure(block, most_active(block.out, 1)[0]),
        change_figure({"these weights": trace}),
    ]


def vector_figure(stage: StageTrace) -> go.Figure:
    """The 32 largest entries of a pooled vector as bars."""
    values = stage.activation.flatten().numpy()
    top = np.argsort(values)[::-1][:32]
    return go.Figure(go.Bar(x=[f"ch {i}" for i in top], y=values[top], marker_color="#3b528b"),
                     layout=dict(title=f"The 32 largest of {values.size} channel averages", height=320,
                                 margin=dict(t=40, b=10), yaxis_title="average activation"))


def predictions_figure(trace: Trace) -> go.Figure:
    """The top-k classes as horizontal bars, the best on top."""
    labels = [p.label for p in trace.top_k][::-1]
    probs = [p.prob for p in trace.top_k][::-1]
    return go.Figure(go.Bar(x=probs, y=labels, orientation="h", marker_color="#d1495b",
                            text=[f"{p:.1%}" for p in probs], textposition="auto"),
                     layout=dict(title=f"Top-{len(labels)} predictions", height=300, margin=dict(t=40, b=10),
                                 xaxis=dict(range=[0, 1], tickformat=".0%", title="probability")))


def skip_figure(block: BlockTrace, channel: int) -> go.Figure:
    """x, F(x) and ReLU(F(x) + x) of one channel side by side on one symmetric colour scale."""
    panels = residual_panels(block.x, block.fx, block.out, channel)
    limit = max(float(np.abs(p).max()) for p in panels.values()) or 1.0
    titles = [f"x ({shortcut_text(block)})", "F(x): residual branch", "ReLU(F(x) + x): block output"]
    return side_by_side(list(panels.values()), titles, limit)
