"""Building blocks of the pages (not pages themselves: Streamlit lists only ``pages/*.py``).

Importing this package imports torch, torchvision and the engine first. Python holds this
package's import lock meanwhile, so when several browser sessions start at once they wait here
instead of racing each other through torchvision's imports, which can hand one thread a
half-initialised module ("cannot import name ... from partially initialized module"). Every page
and ``app.py`` import from here before anything else.
"""

import plotly.graph_objects  # noqa: F401
import torch  # noqa: F401
import torchvision
import torchvision.models.feature_extraction  # noqa: F401

import resnet_core.api
import resnet_core.exercises
import resnet_core.quiz
import resnet_core.training  # noqa: F401
