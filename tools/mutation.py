"""Mutation score of the engine modules that decide what a learner sees. Not part of CI (tens of minutes).

    python tools/mutation.py                  # mutmut run, then the table
    python tools/mutation.py --table          # the table of the last run only
    python tools/mutation.py --max-children 1 # fewer parallel workers on a shared machine
    python tools/mutation.py training training_report  # only these modules (resnet_core.<name>)
    python tools/mutation.py --survivors training      # after new tests: only the mutants left alive

Which modules and which tests: pyproject.toml [tool.mutmut] (``only_mutate``,
``pytest_add_cli_args_test_selection``). Survivors judged equivalent (no test could tell them
apart from the original) are listed in tools/mutation_equivalent.txt, one per line with the
reason; the score leaves them out: killed / (mutants - equivalent).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.txt")
CAUGHT = {1, 3, 24, -24, 36, 152, 255}  # test failure, pytest error, or a timeout (mutmut's exit codes)


def modules() -> list[str]:
    """The files mutmut mutates, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return config["only_mutate"]


def equivalent() -> dict[str, str]:
    """Mutant name -> why it cannot be killed."""
    entries = {}
    for line in EQUIVALENT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            entries[name] = reason.strip()
    return entries


def results(module: str) -> dict[str, int | None]:
    """Mutant name -> mutmut's exit code, from the last run's metadata."""
    meta = ROOT / "mutants" / f"{module}.meta"
    return json.loads(meta.read_text())["exit_code_by_key"]


def chosen(names: list[str]) -> list[str]:
    """The files of pyproject's modules named (``training``), or all of them when none is."""
    return [m for m in modules() if not names or Path(m).stem in names]


def table(only: list[str] | None = None) -> tuple[str, list[str]]:
    """The README table, and the survivors not judged equivalent (and stale entries of the equivalent list).

    ``only``: the module names (``training``) to report; all of pyproject's by default.
    """
    judged = equivalent()
    rows = ["| module | mutants | killed | survived | equivalent | score |", "| --- | --- | --- | --- | --- | --- |"]
    problems, seen = [], set()
    chosen_files = chosen(only or [])
    prefixes = tuple(f"resnet_core.{Path(m).stem}." for m in chosen_files)
    judged = {name: why for name, why in judged.items() if name.startswith(prefixes)}
    for module in chosen_files:
        codes = results(module)
        counts = Counter()
        for name, code in codes.items():
            if code in CAUGHT:
                counts["killed"] += 1
                if name in judged:
                    problems.append(f"killed, so not equivalent: {name}")
            elif name in judged:
                counts["equivalent"] += 1
            else:
                counts["survived"] += 1
                problems.append(f"survived ({'not run' if code is None else code}): {name}")
            seen.add(name)
        real = len(codes) - counts["equivalent"]
        score = counts["killed"] / real if real else 1.0
        rows.append(f"| `{module}` | {len(codes)} | {counts['killed']} | {counts['survived']} | "
                    f"{counts['equivalent']} | {score:.0%} |")
    problems += [f"no such mutant (renumbered?): {name}" for name in judged if name not in seen]
    return "\n".join(rows), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="only print the table of the last run")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--survivors", action="store_true",
                        help="run only the mutants not killed last time (after writing tests for them)")
    parser.add_argument("modules", nargs="*", help="module names to mutate (default: all of pyproject's)")
    args = parser.parse_args()
    known = [Path(m).stem for m in modules()]
    unknown = [m for m in args.modules if m not in known]
    if unknown:
        parser.error(f"not in pyproject's only_mutate: {', '.join(unknown)} (choose from {', '.join(known)})")
    if not args.table:
        env = {**os.environ, "RESNET_TRACE_OFFLINE": "1"}
        command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)]
        if args.survivors:  # mutmut runs a mutant named on its command line again, even if it has a result
            # after new tests only: an edited function's mutants are renumbered, so run its module again
            command += [name for m in chosen(args.modules) for name, code in results(m).items() if code not in CAUGHT]
        else:
            command += [f"resnet_core.{m}.*" for m in args.modules]  # mutmut's filter (fnmatch on mutant names)
        subprocess.run(command, cwd=ROOT, env=env, check=True)
    rows, problems = table(args.modules)
    print(rows)
    for problem in problems:
        print(problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
