"""Command line: ``python -m resnet_core trace IMAGE ...`` and ``python -m resnet_core train ...``.

User errors (a bad file, unknown weights, a missing dataset) print one ``error: ...`` line on
stderr and exit with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from resnet_core import train_cli
from resnet_core.api import TraceReport, trace_image
from resnet_core.images import ImageError
from resnet_core.models import MODEL_NAMES
from resnet_core.trace import seed_shape, shortcut_text
from resnet_core.weights import WEIGHT_CHOICES, WeightsError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one ``error:`` line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The ``resnet_core`` argument parser with its subcommands."""
    parser = _Parser(prog="python -m resnet_core", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    trace = subparsers.add_parser("trace", help="trace an image through a ResNet, stage by stage")
    trace.add_argument("image", help="path to a JPEG, PNG, WebP, GIF, BMP or TIFF file")
    trace.add_argument("--model", choices=MODEL_NAMES, default="seed")
    trace.add_argument("--weights", choices=WEIGHT_CHOICES, default="auto")
    trace.add_argument("--top-k", type=int, default=5, metavar="K")
    trace.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    trace.set_defaults(func=run_trace)
    train_cli.add_parser(subparsers)
    return parser


def run_trace(args: argparse.Namespace) -> int:
    """The ``trace`` subcommand."""
    if args.top_k < 1:
        return _fail("--top-k must be at least 1")
    try:
        report = trace_image(args.image, args.model, args.weights, args.top_k)
    except (ImageError, WeightsError) as error:
        return _fail(str(error))
    print(json.dumps(report.to_dict()) if args.json else format_report(report))
    return 0


def format_report(report: TraceReport) -> str:
    """The seed's Data Flow table (stage, input shape, what it does, output shape) and the top-k."""
    rows = [("Stage", "Input shape", "What it does", "Output shape")]
    for stage in report.trace.stages:
        s = stage.stage
        rows.append((f"{s.number} {s.title}", seed_shape(stage.input_shape), s.does,
                     seed_shape(stage.output_shape)))
        for block in stage.blocks:
            rows.append((f"  {block.name} ({block.kind})", seed_shape(block.input_shape),
                         shortcut_text(block), seed_shape(block.output_shape)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"model: {report.loaded.name}    weights: {report.loaded.label}"]
    lines += [f"note: {note}" for note in report.loaded.notes]
    lines += [f"image: {note}" for note in report.image_notes]
    lines += ["", *("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                    for row in rows)]
    lines += ["", "Top predictions:"]
    lines += [f"  {p.prob:6.1%}  {p.label}" for p in report.trace.top_k]
    return "\n".join(lines)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return _fail("interrupted")
