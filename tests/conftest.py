"""Shared test settings: offline, small thread pools, repo root importable."""

import os

# Tests never touch the network: the weights module skips its download probe.
os.environ.setdefault("RESNET_TRACE_OFFLINE", "1")

import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


def shared(fixture_name: str, config) -> str:
    """Scope of a fixture that calls engine code: one per module, but one per test under mutmut.

    mutmut credits a function to the tests that called it; with a shared fixture only the first test
    did, so a mutant would run against that test alone (tools/mutation.py).
    """
    return "function" if "MUTANT_UNDER_TEST" in os.environ else "module"
