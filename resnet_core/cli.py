"""Command line: ``python -m resnet_core trace IMAGE ...`` and ``python -m resnet_core train ...``.

Each subcommand lives in its own module (:mod:`~resnet_core.trace_cli`,
:mod:`~resnet_core.training_cli`). Errors a user can cause (a bad file, a bad argument, unknown
weights, a missing dataset) are :class:`~resnet_core.errors.UserError`; :func:`main` prints them
as one ``error: ...`` line on stderr and exits with status 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from resnet_core import trace_cli, training_cli
from resnet_core.errors import UserError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one ``error:`` line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _print_error(message)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The ``resnet_core`` argument parser with its subcommands."""
    parser = _Parser(prog="python -m resnet_core", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    trace_cli.add_parser(subparsers)
    training_cli.add_parser(subparsers)
    return parser


def _print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as error:
        _print_error(str(error))
    except KeyboardInterrupt:
        _print_error("interrupted")
    return 2
