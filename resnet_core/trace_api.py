"""The Python API behind ``python -m resnet_core trace``: one image in, a trace and a report out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from resnet_core.images import LoadedImage, read_image_file
from resnet_core.trace import Trace, Tracer
from resnet_core.weights import LoadedModel, load_model

__all__ = ["TraceReport", "trace_image"]


@dataclass(frozen=True)
class TraceReport:
    """A traced image together with the model and weights that produced it."""

    loaded: LoadedModel
    trace: Trace
    image_notes: tuple[str, ...] = ()  # what was done to the picture (EXIF rotation, CMYK, ...)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` object: shapes without the batch dimension, channels first."""
        rows: list[dict[str, Any]] = []
        for stage in self.trace.stages:
            rows.append(_row(stage.stage.key, stage.stage.title, stage.input_shape, stage.output_shape,
                             stage.params))
            for block in stage.blocks:
                title = f"Residual block {block.name} ({block.kind}, {block.shortcut} shortcut)"
                row = _row(block.name, title, block.input_shape, block.output_shape, block.params)
                rows.append({**row, "stage": stage.stage.key, "shortcut": block.shortcut})
        return {
            "model": self.loaded.name,
            "weights": self.loaded.weights,
            "weights_label": self.loaded.label,
            "image_notes": list(self.image_notes),
            "stages": rows,
            "top_k": [{"label": p.label, "prob": p.prob} for p in self.trace.top_k],
        }


def _row(key: str, title: str, input_shape: tuple[int, ...], output_shape: tuple[int, ...],
         params: int) -> dict[str, Any]:
    return {"key": key, "title": title, "input_shape": list(input_shape),
            "output_shape": list(output_shape), "params": params}


def trace_image(
    image: str | Path | Image.Image, model: str = "seed", weights: str = "auto", top_k: int = 5
) -> TraceReport:
    """Load ``image`` (a path or a PIL picture), run it through ``model`` and record every stage.

    Raises ``images.ImageError`` for a file the app refuses and ``weights.WeightsError`` for
    weights the model cannot have; both carry a one-line message.
    """
    picture = LoadedImage(image, ()) if isinstance(image, Image.Image) else read_image_file(image)
    loaded = load_model(model, weights)
    tracer = Tracer(loaded.model, loaded.categories)
    return TraceReport(loaded, tracer(loaded.preprocess(picture.image), top_k=top_k), picture.notes)
