"""Timing helpers shared by the benchmarks: interleaved runs in alternating order, paired ratios, spreads.

Machine load on a shared 2-core box drifts by tens of percent within a minute, so a ratio is only
worth quoting when both sides ran the same work, side by side, many times: each repeat runs every
function once, the order reversed on every other repeat (so neither side always goes first), and
a ratio is taken within each repeat (paired) before its median and range are reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["interleaved", "paired_ratios", "summary"]


def interleaved(functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of each call of each function: ``repeats`` rounds, order reversed every other round."""
    names = list(functions)
    for _ in range(warmup):
        for name in names:
            functions[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            start = time.perf_counter()
            functions[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def paired_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """The ratio within each round (same load for both sides)."""
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def summary(values: list[float], digits: int = 2) -> str:
    """'median (min–max)'."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
