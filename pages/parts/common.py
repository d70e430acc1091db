"""What the pages share, and the server's start-up and shutdown (called by ``app.py``'s lifespan).

:func:`startup` does, once and before the first learner connects, everything the first visit
would otherwise wait for: it imports torch, torchvision, plotly, pandas, pyarrow and the engine,
builds the default model, traces the default picture, resolves the quiz by running its code, and
builds one of every figure and table the pages draw through the pages' own builders, so the lazy
imports inside plotly, pandas, pyarrow and Pillow all happen here. A module imported for the
first time by two sessions at once can hand one of them a half-initialised module ("partially
initialized module 'pandas' has no attribute 'Series'"); after start-up nothing is left to import
(``tests/test_serving.py`` checks it).

Then ``gc.freeze()``: the few hundred thousand objects these imports created live as long as the
server, and without it every full collection walks them all (about 0.25 s holding the GIL, which
stalled trainings and other sessions).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time

import pandas as pd
import plotly.io
import pyarrow as pa
import streamlit as st
from PIL import Image

from pages.parts import quiz_lab_ui, quiz_predict_ui, quiz_ui, trace_ui, trace_views, training_ui
from resnet_core.quiz import score_test, select_test
from resnet_core.training import DEGRADATION
from resnet_core.training_report import epoch_table

__all__ = ["after_first_paint", "shutdown", "startup"]

FIRST_PAINT_S = 0.5  # how long after the browser has drawn a session's first view its charts follow


def after_first_paint(key: str) -> bool:
    """False on a session's first run of a page, True on every later run, which follows by itself.

    A browser that meets its first plotly chart loads plotly.js (about 1.3 s of CPU on a 2-core
    machine) and React holds back the whole update that contains the chart until it has. So the
    first run draws the page without its charts, and a fragment timed by the browser asks for the
    next run once that first view is on screen: the flow shows at once, the charts a moment later.
    """
    if st.session_state.get(key):
        return True
    st.session_state[key] = True
    _rerun_once_painted(key)
    return False


@st.fragment(run_every=FIRST_PAINT_S)
def _rerun_once_painted(key: str) -> None:
    ticks = f"{key}_ticks"
    st.session_state[ticks] = st.session_state.get(ticks, 0) + 1
    if st.session_state[ticks] > 1:  # a run timed by the browser, not the page's own first run
        st.rerun()


# Streamlit warns "missing ScriptRunContext" for every cached call made outside a session: expected here.
_BARE_MODE_LOGGERS = ("streamlit.runtime.scriptrunner_utils.script_run_context", "streamlit.runtime.caching")


@contextlib.contextmanager
def _quiet_bare_mode():
    loggers = [logging.getLogger(name) for name in _BARE_MODE_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def startup() -> dict[str, float]:
    """Warm every cache and lazy import the pages use, then freeze the heap; returns seconds per part."""
    with _quiet_bare_mode():
        return _warm_up()


def _warm_up() -> dict[str, float]:
    seconds: dict[str, float] = {}
    tick = time.perf_counter()

    def lap(part: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        seconds[part] = round(now - tick, 3)
        tick = now

    Image.init()  # every Pillow format plugin, before the first upload
    lap("Pillow plugins")
    model, weights, picture = trace_ui.DEFAULT_MODEL, trace_ui.DEFAULT_WEIGHTS, trace_ui.sample(trace_ui.DEFAULT_SAMPLE)
    trace_ui.model_and_tracer(model, weights)
    lap("default model")
    trace = trace_ui.traced(model, weights, picture.digest, picture.image)
    trace_ui.traces_by_weights(model, weights, picture)  # the residual-size chart compares them
    lap("default trace")
    questions = quiz_ui.questions()
    quiz_lab_ui.lab_run(64, 32, 128, 2, "identity")
    quiz_predict_ui.prediction(0.0, 1.0, 1.0)
    lap("quiz answers")
    run = training_ui.example_run(DEGRADATION)
    figures = [*trace_views.figures(trace), *training_ui.figures(run),
               quiz_ui.score_chart(score_test(select_test(questions, seed=0), {}))]
    for figure in figures:
        plotly.io.to_json(figure, validate=False)  # what st.plotly_chart sends
    for table in (epoch_table(run.records, "resnet", DEGRADATION.num_classes), [{"a": 1, "b": "x", "c": 0.5}]):
        pa.Table.from_pandas(pd.DataFrame(table))  # what st.dataframe sends
    lap("figures and tables")
    training_ui.run_manager()
    gc.freeze()  # after everything above: see the module docstring
    lap("freeze")
    return seconds


def shutdown() -> None:
    """End every training (their worker processes) before the server exits."""
    training_ui.run_manager().stop_all()
