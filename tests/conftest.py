"""Shared test settings: offline, small thread pools, repo root importable."""

import json
import os
from pathlib import Path

# Tests never touch the network: the weights module skips its download probe.
os.environ.setdefault("RESNET_TRACE_OFFLINE", "1")

import torch

# Under mutmut or pytest-xdist two processes share the cores: one thread each (more would oversubscribe).
_SHARED = "MUTANT_UNDER_TEST" in os.environ or "PYTEST_XDIST_WORKER" in os.environ
torch.set_num_threads(1 if _SHARED else min(2, os.cpu_count() or 1))


def shared(fixture_name: str, config) -> str:
    """Scope of a fixture that calls engine code: one per module, but one per test under mutmut.

    mutmut credits a function to the tests that called it; with a shared fixture only the first test
    did, so a mutant would run against that test alone (tools/mutation.py).
    """
    return "function" if "MUTANT_UNDER_TEST" in os.environ else "module"


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (pyproject.toml): two test processes at most, one per core.

    More would slow the suite down on the 2-core machines it is written for, and the tests that
    time a Stop (within 1 s) assume no more than one other process shares the cores.
    """
    return max(1, min(2, os.cpu_count() or 1))


def pytest_collection_modifyitems(config, items) -> None:
    """Under mutmut, run a mutant's tests fastest first: it stops at the first failure (``-x``).

    mutmut hands each mutant the tests that call the mutated function in no particular order, so a
    mutant that a 0.1 s test kills could first wait for a 5 s training test. It runs in ``mutants/``,
    where its stats file holds every test's measured duration.
    """
    stats = Path("mutmut-stats.json")
    if not os.environ.get("MUTANT_UNDER_TEST") or not stats.is_file():
        return
    duration = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: duration.get(item.nodeid, float("inf")))
