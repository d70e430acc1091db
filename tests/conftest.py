"""Shared test settings: offline, small thread pools, repo root importable."""

import os

# Tests never touch the network: the weights module skips its download probe.
os.environ.setdefault("RESNET_TRACE_OFFLINE", "1")

import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))
