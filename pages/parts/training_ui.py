"""Widgets and charts of the Training Lab page (the engine lives in ``resnet_core``)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from resnet_core.data import DATASETS, MAX_SIZE, MIN_SIZE, SHAPES_CLASSES, available, shape_grid
from resnet_core.errors import UserError
from resnet_core.models import CIFAR_DEPTHS, SHORTCUTS, count_params
from resnet_core.training import EXPERIMENTS, OPTIMIZERS, PRESETS, Record, TrainConfig, build_nets_on_meta, nets
from resnet_core.training_budget import Budget
from resnet_core.training_report import (
    LESSON_COLUMNS,
    LESSON_EXAMPLE,
    epoch_table,
    gradient_profile,
    model_names,
    net_label,
    records_to_csv,
    records_to_json,
)
from resnet_core.training_runs import Queue, Run, RunManager

# widget key -> config field, so a preset can fill every widget in one loop
FIELDS = {
    "lab_experiment": "experiment",
    "lab_dataset": "dataset",
    "lab_depth": "depth",
    "lab_shallow": "shallow_depth",
    "lab_bn": "batch_norm",
    "lab_lr": "lr",
    "lab_batch": "batch_size",
    "lab_epochs": "epochs",
    "lab_seed": "seed",
    "lab_size": "image_size",
    "lab_train_size": "train_size",
    "lab_fresh": "fresh_data",
    "lab_width": "width",
    "lab_optimizer": "optimizer",
    "lab_shortcut": "shortcut",
}
# config field -> the widget's label, so the config's own messages name the widget
LABELS = {
    "experiment": "Experiment",
    "dataset": "Dataset",
    "depth": "Depth",
    "shallow_depth": "Shallower depth",
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "seed": "Seed",
    "image_size": "Image size",
    "train_size": "Training images",
    "fresh_data": "New pictures every epoch",
    "width": "Width multiplier",
    "optimizer": "Optimizer",
    "shortcut": "Shortcut",
}
EXPERIMENT_LABELS = {
    "degradation": "Two depths, plain and ResNet (He et al. 2016, Fig. 6)",
    "twins": "One depth: a ResNet and its plain twin",
}
SHORTCUT_LABELS = {
    "A": "A: identity, zero-padded where channels double (no parameters; the paper's CIFAR nets)",
    "B": "B: 1×1 projection where channels double (extra parameters)",
}
LEARNING_RATES = tuple(sorted({0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, *(c.lr for c in PRESETS.values())}))
BATCH_SIZES = (16, 32, 64, 128, 256)
HEARTBEAT_S = 10.0  # how often an open page tells the server its session is still there
KINDS = {"plain": "Plain nets (no skip connections)", "resnet": "ResNets (with skip connections)"}
COLOURS = {("plain", 0): "#b2182b", ("plain", 1): "#ef8a62", ("resnet", 0): "#2166ac", ("resnet", 1): "#67a9cf"}
CHANCE_COLOUR = "#999999"
INTRO = (
    "He et al. (2016) trained plain networks (no skip connections) of 20 and 56 layers on CIFAR-10 and found the "
    "deeper one ending with the *higher training error*: not overfitting, an optimisation difficulty they called the "
    "**degradation problem**. With skip connections the 56-layer net trained to a lower error than the 20-layer one. "
    "The first preset runs that experiment live, small enough for a CPU: plain-20, plain-56, ResNet-20 and ResNet-56 "
    "on the same batches of freshly drawn pictures, so the curves show optimisation, not memorising. Left: the plain "
    "nets; right: the ResNets, as in the paper's Fig. 6. In this minute-and-a-half run plain-56 barely leaves chance; "
    "in the paper's 64,000 iterations it trains, to a higher error than plain-20."
)
# How the residual argument reads on the gradient chart; the run's own numbers follow it on the page.
GRADIENT_NOTE = (
    "In a ResNet each block adds to its input, x_L = x_l + ΣF, so ∂L/∂x_l = ∂L/∂x_L · (1 + ∂ΣF/∂x_l): the 1 carries "
    "the gradient from the output straight back to every block (exactly so in pre-activation ResNets, He et al. "
    "2016b; here the ReLU after each addition passes it only where the sum is positive). A plain net has only the "
    "product of its layers' Jacobians. He et al. used BatchNorm and found their plain nets' gradients healthy, so "
    "degradation is not simply vanishing gradients; later work found that in deep plain nets with BatchNorm the "
    "gradient explodes towards the input at initialisation and loses its structure (Balduzzi et al. 2017, "
    "\"shattered gradients\"; Yang et al. 2019). Without BatchNorm it can vanish (the no-BatchNorm preset)."
)


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
    """Preset, experiment, data, depths, optimiser and the rest; returns the config.

    The values are the session's own (``lab_settings``), so they survive a visit to another page.
    """
    presets = list(PRESETS)
    _restore_settings()
    st.selectbox("Preset", presets, key="lab_preset", on_change=_apply_preset)
    st.radio("Experiment", EXPERIMENTS, key="lab_experiment", format_func=EXPERIMENT_LABELS.get, horizontal=True)
    two_depths = st.session_state["lab_experiment"] == "degradation"
    c = st.columns(4)
    c[0].selectbox("Dataset", DATASETS, key="lab_dataset",
                   format_func=lambda name: name if available(name) else f"{name} (not on this server)")
    c[1].select_slider("Depth (6n+2 layers)", CIFAR_DEPTHS, key="lab_depth")
    c[2].select_slider("Shallower depth", CIFAR_DEPTHS, key="lab_shallow", disabled=not two_depths,
                       help="The shallower pair of the degradation experiment: the paper compares 20 with 56.")
    c[3].select_slider("Learning rate", LEARNING_RATES, key="lab_lr", format_func=lambda lr: f"{lr:g}")
    c = st.columns(4)
    c[0].selectbox("Batch size", BATCH_SIZES, key="lab_batch")
    c[1].number_input("Epochs", 1, 200, key="lab_epochs")
    c[2].number_input("Seed", 0, 10_000, key="lab_seed")
    c[3].selectbox("Optimizer", OPTIMIZERS, key="lab_optimizer")
    with st.expander("More settings"):
        c = st.columns(4)
        c[0].number_input("Image size (px)", MIN_SIZE, MAX_SIZE, key="lab_size")
        c[1].number_input("Training images", 32, 50_000, key="lab_train_size",
                          help="Per epoch. With new pictures every epoch the nets never see a picture twice.")
        c[2].number_input("Width multiplier", 0.25, 4.0, step=0.25, key="lab_width")
        c[3].checkbox("BatchNorm", key="lab_bn")
        c = st.columns([3, 1])
        c[0].radio("Shortcut", SHORTCUTS, key="lab_shortcut", format_func=SHORTCUT_LABELS.get)
        c[1].checkbox("New pictures every epoch", key="lab_fresh", disabled=st.session_state["lab_dataset"] != "shapes")
    _save_settings()
    values = {name: st.session_state[key] for key, name in FIELDS.items()}
    values["fresh_data"] &= values["dataset"] == "shapes"  # only drawn pictures are unlimited
    base = PRESETS[st.session_state["lab_preset"]]
    return replace(base, **values, steps=None)


@st.cache_data(max_entries=64, show_spinner=False)
def _params(config: TrainConfig) -> dict[str, int]:
    return {key: count_params(model) for key, model in build_nets_on_meta(config).items()}


def model_sizes_ui(config: TrainConfig) -> None:
    """Parameter counts of every net, and what the skip connections add (nothing, with option A)."""
    counts = _params(config)
    for column, (key, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(f"{net_label(key, config.depth)} parameters", f"{count:,}")
    extra = {key: count - counts[twin] for key, count in counts.items()
             if key.startswith("resnet") and (twin := key.replace("resnet", "plain")) in counts}
    if extra and all(value == 0 for value in extra.values()):
        st.caption("Each ResNet has exactly the parameters of its plain twin: with shortcut option A every skip "
                   "connection is an identity (zero-padded where the channels double), with nothing to learn.")
    elif extra:
        added = ", ".join(f"{net_label(key, config.depth)} {value:,}" for key, value in extra.items())
        st.caption(f"The ResNets' extra parameters are their projection shortcuts (option B, a 1×1 convolution and "
                   f"BatchNorm where the channels double): {added}. Every other skip is an identity.")


def _smooth(values: list[float], weight: float = 0.8) -> list[float]:
    out, last = [], values[0] if values else 0.0
    for value in values:
        last = weight * last + (1 - weight) * value
        out.append(last)
    return out


def _colour(key: str, keys: list[str]) -> str:
    """Dark for the deeper net of a kind, light for the shallower; red plain, blue ResNet."""
    kind = "resnet" if key.startswith("resnet") else "plain"
    same = [k for k in keys if k.startswith(kind)]
    return COLOURS[kind, 0 if key == same[-1] else 1]


def error_chart(run: Run, kind: str) -> go.Figure:
    """The paper's Fig. 6 for one kind of net: training error (thin, each step), validation error (bold, each epoch)."""
    keys = [key for key in nets(run.config) if key.startswith(kind)]
    chance = 100 * (1 - 1 / run.config.num_classes)
    traces = []
    for key in keys:
        steps = [r for r in run.records if r.kind == "step" and r.model == key]
        epochs = [r for r in run.records if r.kind == "epoch" and r.model == key]
        label, colour = net_label(key, run.config.depth), _colour(key, keys)
        traces.append(go.Scatter(x=[r.step for r in steps], y=_smooth([100 * (1 - r.train_acc) for r in steps]),
                                 name=f"{label} training", line=dict(color=colour, width=1), mode="lines"))
        traces.append(go.Scatter(x=[r.step for r in epochs], y=[100 * (1 - r.val_acc) for r in epochs],
                                 name=f"{label} validation", line=dict(color=colour, width=3, dash="dash"),
                                 mode="lines+markers"))
    last = max((r.step for r in run.records), default=1)
    traces.append(go.Scatter(x=[0, max(last, 1)], y=[chance, chance], name="chance", mode="lines",
                             line=dict(color=CHANCE_COLOUR, width=1, dash="dot"), hoverinfo="skip"))
    # one constructor: plotly validates once (this redraws every second while a run is live)
    return go.Figure(traces, layout=dict(
        title=KINDS[kind], xaxis_title="step", yaxis_title="error (%)", yaxis_range=[0, 100], height=340,
        margin=dict(t=40, b=30, l=10, r=10), legend=dict(orientation="h", y=-0.25)))


def gradient_chart(run: Run) -> go.Figure:
    """|dL/dx| at each residual block's input, from the input (left) to the output (right), every net, log scale."""
    keys = list(nets(run.config))
    traces = []
    for key in keys:
        norms = gradient_profile(run.records, key)
        traces.append(go.Scatter(x=list(range(1, len(norms) + 1)), y=list(norms.values()),
                                 name=net_label(key, run.config.depth), line_color=_colour(key, keys),
                                 mode="lines+markers", text=list(norms), hoverinfo="text+y+name"))
    return go.Figure(traces, layout=dict(
        title="|∂L/∂x| at each residual block's input: input (left) to output (right)", height=340,
        xaxis_title="residual block (counted from the input)", yaxis_title="|∂L/∂x|", yaxis_type="log",
        yaxis_dtick=1, margin=dict(t=40, b=30, l=10, r=10)))


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
    """Every net's epoch table (tabs) beside the lesson's example table, and the downloads."""
    keys = model_names(run.records)
    left, right = st.columns([3, 2])
    with left:
        for tab, key in zip(st.tabs([net_label(k, run.config.depth) for k in keys]), keys, strict=True):
            tab.table(epoch_table(run.records, key, run.config.num_classes, run.config.depth))
    with right:
        st.markdown("**The lesson's example** (an illustration, not a run)")
        st.table([dict(zip(LESSON_COLUMNS, row, strict=True)) for row in LESSON_EXAMPLE])
        st.caption("Its Accuracy column is training accuracy. This run's tables say which accuracy each column is, "
                   "and their observations are computed from this run's numbers.")
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
        for key in nets(config):
            run.records.append(Record("step", key, step, 1, 2.0 / step, 0.1 * step, 0.1, 100.0, 0.1 * step,
                                      input_grad_norms={"layer1.0": 1.0 / step, "layer2.0": 0.5 / step}))
    for key in nets(config):
        run.records.append(Record("epoch", key, 2, 1, 1.5, 0.15, 0.1, 100.0, 0.2, val_loss=1.6, val_acc=0.12))
    return run


def figures(run: Run) -> list[go.Figure]:
    """One of every chart the page draws for ``run``, from the page's own builders."""
    return [error_chart(run, "plain"), error_chart(run, "resnet"), gradient_chart(run)]
