"""The degradation experiment on seeds 0, 1 and 2, each through the CLI, against the issue's targets.

    python -m benchmarks.degradation [--seeds 0 1 2] [-- extra train options]

Runs ``python -m resnet_core train --experiment degradation --seed N --json`` once per seed, in a
process of its own (one thread, the CLI's default), and prints a Markdown table: the summary's
seconds, the process's wall and CPU seconds, final training / validation accuracy of each net,
and the targets (He et al. 2016, Fig. 6: the deeper plain net trains to a *higher* error).
The load average before and after says how much other work shared the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

SECONDS = 90  # summary.seconds on a 2-core CPU, one thread
DEGRADES = 0.10  # plain-56 ends at least this far below plain-20 (training accuracy)
RESIDUAL_GAIN = 0.25  # resnet-56 ends at least this far above plain-56
RESIDUAL_LOSS = 0.05  # resnet-56 ends at most this far below resnet-20
GENERALISES = 0.10  # each ResNet's validation accuracy within this of its training accuracy


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_seed(seed: int, extra: list[str]) -> dict:
    """One CLI run: its summary, plus the process's wall and CPU seconds."""
    command = [sys.executable, "-m", "resnet_core", "train", "--experiment", "degradation", "--seed", str(seed)]
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run([*command, *extra, "--json"], capture_output=True, text=True, check=True)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    result = json.loads(done.stdout.splitlines()[-1])["summary"]
    return {"seed": seed, "wall": wall, "cpu": cpu, **result}


def nets(row: dict) -> list[str]:
    """The model keys of a summary in the engine's order: plain shallow, plain deep, ResNet shallow, deep."""
    return [key for key in row if key.startswith(("plain-", "resnet-"))]


def checks(row: dict) -> dict[str, bool]:
    """The issue's targets for one seed."""
    plain, deep_plain, resnet, deep_resnet = nets(row)
    train = {net: row[net]["final_train_acc"] for net in nets(row)}
    return {
        f"seconds <= {SECONDS}": row["seconds"] <= SECONDS,
        f"{deep_plain} >= 10 below {plain}": train[plain] - train[deep_plain] >= DEGRADES,
        f"{deep_resnet} >= 25 above {deep_plain}": train[deep_resnet] - train[deep_plain] >= RESIDUAL_GAIN,
        f"{deep_resnet} <= 5 below {resnet}": train[resnet] - train[deep_resnet] <= RESIDUAL_LOSS,
        "ResNets: val within 10 of train": all(
            abs(row[net]["final_val_acc"] - train[net]) <= GENERALISES for net in (resnet, deep_resnet)
        ),
    }


def _pct(value: float) -> str:
    return f"{value * 100:.1f}"


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table: seconds, then train / val accuracy (%) of each net, then the targets met."""
    head = ["seed", "seconds", "process wall (s)", "CPU (s)", *(f"{net} train / val %" for net in nets(rows[0]))]
    head.append("targets")
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for row in rows:
        met = checks(row)
        verdict = "all met" if all(met.values()) else "missed: " + "; ".join(k for k, ok in met.items() if not ok)
        cells = [str(row["seed"]), f"{row['seconds']:.1f}", f"{row['wall']:.1f}", f"{row['cpu']:.1f}"]
        cells += [f"{_pct(row[net]['final_train_acc'])} / {_pct(row[net]['final_val_acc'])}" for net in nets(row)]
        lines.append("| " + " | ".join([*cells, verdict]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("extra", nargs="*", help="more `train` options, after --")
    args = parser.parse_args()
    before = os.getloadavg()
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, args.extra))
        print(f"seed {seed}: {rows[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    after = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} CPUs  one training thread")
    print(f"load average (1 min) before {before[0]:.2f}, after {after[0]:.2f}: above 1 means other work shared the CPU")
    print("parameters: " + ", ".join(f"{net} {rows[0][net]['params']:,}" for net in nets(rows[0])))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
