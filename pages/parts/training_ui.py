"""Widgets and charts of the Training Lab page (the engine lives in ``resnet_core``)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from resnet_core.data import DATASETS, MAX_SIZE, MIN_SIZE, SHAPES_CLASSES, available, shape_grid
from resnet_core.errors import UserError
from resnet_core.models import CIFAR_DEPTHS, CifarResNetConfig, cifar_resnet, count_params
from resnet_core.training import OPTIMIZERS, PRESETS, Record, TrainConfig
from resnet_core.training_budget import Budget
from resnet_core.training_report import epoch_table, gradient_profile, records_to_csv, records_to_json
from resnet_core.training_runs import Queue, Run, RunManager

NETS = {"resnet": ("ResNet (with skips)", "#1f77b4"), "plain": ("Plain twin (no skips)", "#d62728")}
# widget key -> config field, so a preset can fill every widget in one loop
FIELDS = {
    "lab_dataset": "dataset",
    "lab_depth": "depth",
    "lab_bn": "batch_norm",
    "lab_lr": "lr",
    "lab_batch": "batch_size",
    "lab_epochs": "epochs",
    "lab_seed": "seed",
    "lab_size": "image_size",
    "lab_train_size": "train_size",
    "lab_width": "width",
    "lab_optimizer": "optimizer",
}
# config field -> the widget's label, so the config's own messages name the widget
LABELS = {
    "dataset": "Dataset",
    "depth": "Depth",
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "seed": "Seed",
    "image_size": "Image size",
    "train_size": "Training images",
    "width": "Width multiplier",
    "optimizer": "Optimizer",
}


LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
BATCH_SIZES = (16, 32, 64, 128, 256)
HEARTBEAT_S = 10.0  # how often an open page tells the server its session is still there


@st.cache_resource
def run_manager() -> RunManager:
    """The server-wide run manager: one per server, shared by every session."""
    return RunManager()


def owner() -> str:
    """This browser session's id for the run manager (a run belongs to the session that started it)."""
    return st.session_state.setdefault("lab_owner", uuid.uuid4().hex)


def keep_alive() -> None:
    """Called on every page of every run: an open tab keeps its session's run alive.

    A session with an active run pings the run manager every ``HEARTBEAT_S``, whatever page it
    shows; once the tab is closed (or reloaded: a new session) the pings stop and the run is stopped.
    """
    run = run_manager().get(st.session_state.get("lab_run"))
    if run is not None and run.active:
        _heartbeat()


@st.fragment(run_every=HEARTBEAT_S)
def _heartbeat() -> None:
    run_manager().seen(owner())


def _apply_preset() -> None:
    config = PRESETS[st.session_state["lab_preset"]]
    for key, name in FIELDS.items():
        st.session_state[key] = getattr(config, name)


def _restore_settings() -> None:
    """Give the widgets back the values this session last chose (Streamlit drops a widget's state on another page)."""
    saved = st.session_state.setdefault("lab_settings", {})
    if not saved:
        saved["lab_preset"] = next(iter(PRESETS))
        saved.update({key: getattr(PRESETS[saved["lab_preset"]], name) for key, name in FIELDS.items()})
    for key, value in saved.items():
        if key not in st.session_state:
            st.session_state[key] = value


def _save_settings() -> None:
    st.session_state["lab_settings"] = {key: st.session_state[key] for key in ("lab_preset", *FIELDS)}


def config_ui() -> TrainConfig:
    """Preset, dataset, depth, BatchNorm, lr, batch size, epochs, seed; returns the config.

    The values are the session's own (``lab_settings``), so they survive a visit to another page.
    """
    presets = list(PRESETS)
    _restore_settings()
    st.selectbox("Preset", presets, key="lab_preset", on_change=_apply_preset)
    c = st.columns(4)
    c[0].selectbox("Dataset", DATASETS, key="lab_dataset",
                   format_func=lambda name: name if available(name) else f"{name} (not on this server)")
    c[1].select_slider("Depth (6n+2 layers)", CIFAR_DEPTHS, key="lab_depth")
    c[2].select_slider("Learning rate", LEARNING_RATES, key="lab_lr",
                       format_func=lambda lr: f"{lr:g}")
    c[3].selectbox("Batch size", BATCH_SIZES, key="lab_batch")
    c = st.columns(4)
    c[0].number_input("Epochs", 1, 200, key="lab_epochs")
    c[1].number_input("Seed", 0, 10_000, key="lab_seed")
    c[2].checkbox("BatchNorm", key="lab_bn")
    with st.expander("More settings"):
        c = st.columns(4)
        c[0].number_input("Image size (px)", MIN_SIZE, MAX_SIZE, key="lab_size")
        c[1].number_input("Training images", 32, 50_000, key="lab_train_size")
        c[2].number_input("Width multiplier", 0.25, 4.0, step=0.25, key="lab_width")
        c[3].selectbox("Optimizer", OPTIMIZERS, key="lab_optimizer")
    _save_settings()
    values = {name: st.session_state[key] for key, name in FIELDS.items()}
    base = PRESETS[st.session_state["lab_preset"]]
    return replace(base, **values, steps=None)


def model_sizes_ui(config: TrainConfig) -> None:
    """Parameter counts of both nets and what differs between them."""
    counts = {}
    for skip in (True, False):
        cifar = CifarResNetConfig(config.depth, config.num_classes, skip, config.batch_norm, config.width)
        counts[skip] = count_params(cifar_resnet(cifar))
    c = st.columns(3)
    c[0].metric("ResNet parameters", f"{counts[True]:,}")
    c[1].metric("Plain twin parameters", f"{counts[False]:,}")
    c[2].metric("Difference", f"{counts[True] - counts[False]:,}")
    st.caption(
        "Same layers, same starting weights. The only extra parameters of the ResNet are its two "
        "projection shortcuts (1x1 conv + BatchNorm) where the channels double; every other skip is "
        "an identity and adds nothing."
    )


def _smooth(values: list[float], weight: float = 0.8) -> list[float]:
    out, last = [], values[0] if values else 0.0
    for value in values:
        last = weight * last + (1 - weight) * value
        out.append(last)
    return out


def curves(run: Run, metric: str, title: str) -> go.Figure:
    """Per-step training ``metric`` of both nets on the same axes (smoothed)."""
    traces = []
    for net, (label, colour) in NETS.items():
        rows = [r for r in run.records if r.kind == "step" and r.model == net]
        if rows or net == "resnet" or run.config.compare:
            ys = _smooth([getattr(r, metric) for r in rows])
            traces.append(go.Scatter(x=[r.step for r in rows], y=ys, name=label, line_color=colour, mode="lines"))
    # one constructor: plotly validates once (this redraws every second while a run is live)
    return go.Figure(traces, layout=dict(title=title, xaxis_title="step", height=320,
                                         margin=dict(t=40, b=30, l=10, r=10)))


def gradient_chart(run: Run) -> go.Figure:
    """Gradient norm of each conv layer on the main path, input to output, both nets (log scale)."""
    traces = []
    for net, (label, colour) in NETS.items():
        norms = {k: v for k, v in gradient_profile(run.records, net).items() if "downsample" not in k}
        traces.append(go.Scatter(x=list(range(1, len(norms) + 1)), y=list(norms.values()), name=label,
                                 line_color=colour, mode="lines+markers", text=list(norms),
                                 hoverinfo="text+y+name"))
    return go.Figure(traces, layout=dict(
        title="Gradient flow: conv layers from input (left) to output (right)", height=320,
        xaxis_title="conv layer", yaxis_title="gradient norm", yaxis_type="log", yaxis_dtick=1,
        margin=dict(t=40, b=30, l=10, r=10)))


@st.cache_data(max_entries=256, show_spinner=False)
def _budget(config: TrainConfig) -> Budget | str:
    try:
        return run_manager().budget(config, LABELS)
    except UserError as error:
        return str(error)


def budget_ui(config: TrainConfig) -> bool:
    """What the run will cost, before Train is pressed; False (with the reason) when this server refuses it."""
    try:
        config.validate(LABELS)
    except UserError as error:
        st.error(str(error), icon=":material/block:")
        return False
    if not available(config.dataset):
        st.warning(f"{config.dataset} is not on this server: whoever runs it can put the files in its data "
                   "folder (see the README). Pick the shapes dataset meanwhile.", icon=":material/cloud_off:")
        return False
    budget = _budget(config)
    manager = run_manager()
    if isinstance(budget, str):
        st.error(budget, icon=":material/block:")
        return False
    st.caption(f"Estimate: about {_duration(budget.seconds)} and {budget.memory_mb:,.0f} MB of memory "
               f"(this server allows {_duration(manager.max_s)} and {manager.max_mb:,.0f} MB per training).")
    return True


def _duration(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} min"


def progress_ui(run: Run, queue: Queue, max_running: int) -> None:
    """Status line: waiting, progress bar with time left, or how the run ended."""
    if run.status == "waiting":
        st.info(f"Waiting for a free slot: {queue.running} training(s) running, {queue.ahead} waiting ahead of "
                f"yours; this server trains at most {max_running} at once.", icon=":material/hourglass_top:")
    elif run.status == "failed":
        st.error(run.error, icon=":material/error:")
    elif run.status == "stopped" and run.why_stopped:
        st.warning(f"Stopped: {run.why_stopped}.", icon=":material/stop_circle:")
    total = max(run.total_steps, 1)
    left = run.seconds_left()
    text = f"step {run.steps_done} of {run.total_steps}" + (f" · about {left:.0f} s left" if left else "")
    status = f"{run.status} ({run.phase})" if run.status == "running" and run.phase != "training" else run.status
    st.progress(min(run.steps_done / total, 1.0), text=f"{status}: {text}")


def results_ui(run: Run) -> None:
    """Epoch tables of both nets and the downloads."""
    classes = run.config.num_classes
    nets = [net for net in NETS if any(r.model == net for r in run.records)]
    for column, net in zip(st.columns(len(nets) or 1), nets, strict=False):
        column.markdown(f"**{NETS[net][0]}**")
        column.dataframe(epoch_table(run.records, net, classes), hide_index=True, width="stretch")
    c = st.columns(2)
    c[0].download_button("Download run (CSV)", records_to_csv(run.records), f"run-{run.id}.csv", "text/csv")
    c[1].download_button("Download run (JSON)", records_to_json(run.records, run.config),
                         f"run-{run.id}.json", "application/json")


@st.cache_data
def _samples(per_class: int) -> list:
    return shape_grid(per_class, image_size=48)


def samples_ui(per_class: int = 3) -> None:
    """A grid of ``shapes`` samples, one column per class."""
    for column, (name, images) in zip(st.columns(len(SHAPES_CLASSES)), _samples(per_class), strict=True):
        column.image(images, caption=[name] + [""] * (len(images) - 1), width=48)


def example_run(config: TrainConfig) -> Run:
    """A finished run of two made-up steps per net (what the start-up warm-up draws)."""
    run = Run(0, config, status="done")
    for step in (1, 2):
        for net in NETS:
            norms = {"conv1": 1.0 / step, "layer1.0.conv1": 0.5 / step}
            run.records.append(Record("step", net, step, 1, 2.0 / step, 0.1 * step, 0.1, 100.0, 0.1 * step,
                                      grad_norms=norms))
    for net in NETS:
        run.records.append(Record("epoch", net, 2, 1, 1.5, 0.15, 0.1, 100.0, 0.2, val_loss=1.6, val_acc=0.12))
    return run


def figures(run: Run) -> list[go.Figure]:
    """One of every chart the page draws for ``run``, from the page's own builders."""
    return [curves(run, "train_loss", "Training loss"), curves(run, "train_acc", "Training accuracy"),
            gradient_chart(run)]
