"""Building blocks of the pages (not pages themselves: Streamlit lists only ``pages/*.py``).

Importing this package imports torch, torchvision and the engine first. Python holds this
package's import lock meanwhile, so when several browser sessions start at once they wait here
instead of racing each other through torchvision's imports, which can hand one thread a
half-initialised module ("cannot import name ... from partially initialized module"). Every page
and ``app.py`` import from here before anything else.

Then ``gc.freeze()`` moves the few hundred thousand objects these imports created out of the
garbage collector's reach: they live as long as the server anyway, and without it every full
collection walks all of them (about 0.25 s holding the GIL, stalling trainings and other sessions).
"""

import gc

import plotly.graph_objects  # noqa: F401
import torch  # noqa: F401
import torchvision
import torchvision.models.feature_extraction  # noqa: F401

import resnet_core.api
import resnet_core.exercises
import resnet_core.quiz
import resnet_core.training  # noqa: F401

gc.freeze()  # after the imports above: see the module docstring
