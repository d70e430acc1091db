"""The ``trace`` subcommand: ``python -m resnet_core trace assets/cat.jpg --model resnet18 --json``.

Text output is the lesson's Data Flow table (stage, input shape, what it does, output shape) with
every residual block, then the top-k; ``--json`` prints :meth:`TraceReport.to_dict`.
"""

from __future__ import annotations

import argparse
import json

from resnet_core.errors import UserError
from resnet_core.models import MODEL_NAMES
from resnet_core.trace import seed_shape, shortcut_text
from resnet_core.trace_api import TraceReport, trace_image
from resnet_core.weights import WEIGHT_CHOICES

__all__ = ["add_parser", "format_report", "run_trace"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``trace`` on ``subparsers``; its handler is ``run_trace``."""
    parser = subparsers.add_parser("trace", help="trace an image through a ResNet, stage by stage")
    parser.add_argument("image", help="path to a JPEG, PNG, WebP, GIF, BMP or TIFF file")
    parser.add_argument("--model", choices=MODEL_NAMES, default="seed")
    parser.add_argument("--weights", choices=WEIGHT_CHOICES, default="auto")
    parser.add_argument("--top-k", type=int, default=5, metavar="K")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run_trace)
    return parser


def run_trace(args: argparse.Namespace) -> int:
    """The ``trace`` subcommand; a bad file or argument is a UserError."""
    if args.top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {args.top_k}")
    report = trace_image(args.image, args.model, args.weights, args.top_k)
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
