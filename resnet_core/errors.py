"""Errors a user can cause, and how any error becomes one line of text.

Every refusal the engine makes because of what a user gave it (a file, an argument, a setting)
is a :class:`UserError` whose message is one plain sentence. The command line prints it after
``error:`` and exits with status 2; the pages show it in a box. Nothing else turns errors into text.
"""

from __future__ import annotations

import threading

__all__ = ["Interrupted", "UserError", "check_stop", "one_line"]


class UserError(ValueError):
    """Something a user gave that cannot be used; ``str(error)`` is one sentence saying why."""


class Interrupted(Exception):
    """A stop flag was found set in the middle of long work (drawing data, a step, validation)."""


def check_stop(stop: threading.Event | None) -> None:
    """Raise Interrupted when ``stop`` is set: long loops call this between their pieces of work."""
    if stop is not None and stop.is_set():
        raise Interrupted


def one_line(error: BaseException, limit: int = 200) -> str:
    """The first non-empty line of ``error``'s message (its type name when it has none), at most ``limit`` chars."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(error).__name__
