"""ResNet Pipeline Trace engine: models, tracing, images, weights, data, training, quiz.

Pure torch/torchvision/numpy/Pillow; it never imports streamlit, so everything the app shows can
also be produced from Python or with ``python -m resnet_core``.
"""

__version__ = "0.1.0"
