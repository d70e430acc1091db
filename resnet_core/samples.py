"""Sample pictures shipped in ``assets/`` (licences in ``assets/LICENSES.md``): a table, not code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ASSETS", "SAMPLES", "Sample", "sample_path"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Sample:
    """One bundled picture."""

    key: str  # stable id used by the page and the CLI
    title: str  # what a learner sees in the picker
    file: str  # file name inside assets/


SAMPLES: tuple[Sample, ...] = (
    Sample("cat", "Chelsea the cat (photo)", "cat.jpg"),
    Sample("coffee", "A cup of coffee (photo)", "coffee.jpg"),
    Sample("rocket", "A rocket launch (photo)", "rocket.jpg"),
    Sample("star", "A star (shapes dataset)", "shape_star.png"),
    Sample("ring", "A ring (shapes dataset)", "shape_ring.png"),
    Sample("checkerboard", "A checkerboard (shapes dataset)", "shape_checkerboard.png"),
)


def sample_path(key: str) -> Path:
    """Path of the sample called ``key``."""
    for sample in SAMPLES:
        if sample.key == key:
            return ASSETS / sample.file
    raise KeyError(f"no sample called {key!r}; choose one of {', '.join(s.key for s in SAMPLES)}")
