"""Building blocks of the pages (not pages themselves: Streamlit lists only ``pages/*.py``).

Importing this package imports everything the pages will use first: torch, torchvision, the
engine, and the modules that plotly, pandas, pyarrow and Pillow would otherwise import lazily on
first use. Python holds this package's import lock meanwhile, so when several browser sessions
start at once they wait here instead of racing each other through those imports, which can hand
one thread a half-initialised module ("cannot import name ... from partially initialized module",
"partially initialized module 'pandas' has no attribute 'Series'"). Every page and ``app.py``
import from here before anything else; ``tests/test_serving.py`` checks that a whole tour of the
pages imports nothing new from these libraries afterwards.

Then ``gc.freeze()`` moves the few hundred thousand objects these imports created out of the
garbage collector's reach: they live as long as the server anyway, and without it every full
collection walks all of them (about 0.25 s holding the GIL, stalling trainings and other sessions).
"""

import gc

import numpy as np
import orjson  # noqa: F401  (plotly's JSON encoder)
import pandas as pd
import plotly.graph_objects as go
import plotly.io
import plotly.tools
import pyarrow as pa
import torch
import torch.utils.serialization.config  # noqa: F401  (what torch.load imports on first use)
import torchvision
import torchvision.models.feature_extraction  # noqa: F401
from PIL import Image

import resnet_core.api
import resnet_core.exercises
import resnet_core.quiz
import resnet_core.render
import resnet_core.runs
import resnet_core.training
import resnet_core.training_report  # noqa: F401


def _warm_up() -> None:
    """Take once, here, the lazy import paths that the pages' charts, tables and uploads would take."""
    from pages.parts.trace_views import heatmap, side_by_side  # the trace page's own figure builders

    Image.init()  # every Pillow format plugin
    z = np.zeros((2, 2))
    figures = [
        heatmap(z, "t"),
        side_by_side([z, z], ["a", "b"], 1.0),
        go.Figure(go.Bar(x=[0.5], y=["a"], orientation="h", text=["50%"], marker_color="#d1495b"),
                  layout=dict(xaxis=dict(range=[0, 1], tickformat=".0%", title="p"))),
        go.Figure(go.Scatter(x=[1], y=[1.0], mode="lines+markers", line_color="#1f77b4"),
                  layout=dict(yaxis_type="log", yaxis_dtick=1, yaxis_title="y", xaxis_title="x")),
    ]
    for figure in figures:
        plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True))
    pa.Table.from_pandas(pd.DataFrame({"a": [1], "b": ["x"], "c": [0.5]}))


_warm_up()
gc.freeze()  # after the imports above: see the module docstring
