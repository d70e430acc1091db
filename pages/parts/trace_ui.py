"""Widgets and cached engine calls shared by the pages. UI functions draw and return plain values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st
from PIL import Image

from pages.parts.text import plain
from resnet_core.images import ImageError, load_image_file, read_image
from resnet_core.models import MODEL_NAMES
from resnet_core.samples import SAMPLES, sample_path
from resnet_core.trace import Trace, Tracer
from resnet_core.weights import WEIGHT_CHOICES, LoadedModel, WeightsError, load_model

MODEL_HELP = {
    "seed": "The lesson's own pipeline: exactly its Data Flow shapes (56 × 56 × 64 → 56 × 56 × 256).",
    "resnet18": "torchvision ResNet-18: 8 basic blocks in 4 stages, 11.7 M parameters.",
    "resnet34": "torchvision ResNet-34: 16 basic blocks in 4 stages, 21.8 M parameters.",
    "resnet50": "torchvision ResNet-50: 16 bottleneck blocks in 4 stages, 25.6 M parameters.",
}
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
# What a first visit shows: the lesson's own model with the weights that ship, on a picture those weights
# know (a shape: the bundled weights name its class; a photo of a cat they could only force into a shape).
DEFAULT_MODEL, DEFAULT_WEIGHTS, DEFAULT_SAMPLE = "seed", "auto", "star"


@dataclass(frozen=True)
class Picture:
    """The image to trace, a stable id for caching, and where it came from."""

    image: Image.Image
    digest: str
    caption: str  # Markdown: learner text in it is already escaped (text.plain)


@st.cache_resource(show_spinner="Loading the model…")
def model_and_tracer(name: str, weights: str) -> tuple[LoadedModel, Tracer]:
    """One model per (name, weights) for every session; the tracer keeps no per-call state."""
    loaded = load_model(name, weights)
    return loaded, Tracer(loaded.model, loaded.categories)


@st.cache_resource(max_entries=8, show_spinner="Running the image through the network…")
def traced(name: str, weights: str, digest: str, _picture: Image.Image) -> Trace:
    """The trace of one picture, computed once per (image, model, weights) and shared read-only."""
    loaded, tracer = model_and_tracer(name, weights)
    return tracer(loaded.preprocess(_picture))


@st.cache_resource
def sample_picture(key: str) -> Image.Image:
    """A bundled sample, decoded once."""
    return load_image_file(sample_path(key))


def model_picker() -> tuple[str, str]:
    """Sidebar: which model and which weights."""
    name = st.sidebar.selectbox("Model", MODEL_NAMES, index=MODEL_NAMES.index(DEFAULT_MODEL), help="\n\n".join(
        f"**{k}**: {v}" for k, v in MODEL_HELP.items()))
    st.sidebar.caption(MODEL_HELP[name])
    weights = st.sidebar.selectbox(
        "Weights", WEIGHT_CHOICES, index=WEIGHT_CHOICES.index(DEFAULT_WEIGHTS),
        help="auto: ImageNet weights when available (torchvision models), the bundled weights for the "
             "seed model, otherwise untrained.",
    )
    return name, weights


def picture_picker() -> Picture:
    """Sidebar: a sample (the cat first) or the learner's own upload; a bad upload is explained."""
    samples = {s.key: s.title for s in SAMPLES}
    key = st.sidebar.selectbox("Sample picture", list(samples), index=list(samples).index(DEFAULT_SAMPLE),
                               format_func=samples.get)
    upload = st.sidebar.file_uploader("…or upload your own photo", type=UPLOAD_TYPES)
    if upload is not None:
        data = upload.getvalue()
        try:
            loaded = read_image(data, upload.name)
        except ImageError as error:
            st.error(f"That file can't be used: {plain(str(error))}", icon=":material/block:")
            st.caption("Showing the sample picture instead.")
        else:
            for note in loaded.notes:
                st.info(plain(f"{upload.name}: {note}"), icon=":material/info:")
            return Picture(loaded.image, hashlib.sha256(data).hexdigest(), f"Your upload: {plain(upload.name)}")
    return sample(key)


def sample(key: str) -> Picture:
    """A bundled sample as a Picture."""
    return Picture(sample_picture(key), f"sample:{key}", next(s.title for s in SAMPLES if s.key == key))


def load_or_explain(name: str, weights: str) -> tuple[LoadedModel, Tracer] | None:
    """The cached model, or None after showing why it cannot be had."""
    try:
        return model_and_tracer(name, weights)
    except WeightsError as error:
        st.error(f"{name} cannot run with {weights} weights: {error}", icon=":material/warning:")
        st.caption("Choose **auto** or **none** in the sidebar.")
        return None


def weights_banner(loaded: LoadedModel) -> None:
    """Say plainly which weights are in use, and why if it fell back."""
    text = f"**Weights:** {loaded.label}"
    if loaded.weights == "none":
        st.warning(text, icon=":material/casino:")
    else:
        st.success(text, icon=":material/verified:")
    for note in loaded.notes:
        st.caption(f"Why: {note}")
    if loaded.weights == "bundled":
        n = len(loaded.categories)
        st.caption(
            f"These weights know {n} shape classes ({', '.join(loaded.categories)}), so "
            f"the last layer outputs {n} scores instead of the lesson's 1000, and a photo "
            "is forced into one of the shapes. Pick a shape sample to see them named, or weights **none** for "
            "the lesson's 1000-way layer."
        )


WEIGHT_NAMES = {"imagenet": "ImageNet weights", "bundled": "bundled weights", "none": "untrained (random)"}


def traces_by_weights(name: str, weights: str, picture: Picture) -> dict[str, Trace]:
    """The picture traced with the weights in use (first) and every other set this model can have here."""
    loaded, _ = model_and_tracer(name, weights)
    traces = {f"{WEIGHT_NAMES[loaded.weights]} (shown above)": traced(name, weights, picture.digest, picture.image)}
    for other in WEIGHT_CHOICES:
        if other in ("auto", loaded.weights):
            continue
        try:
            traces[WEIGHT_NAMES[other]] = traced(name, other, picture.digest, picture.image)
        except WeightsError:
            continue  # not available on this server (ImageNet offline), or not for this model
    return traces
