"""A short unified diff of two flow sources, for the ``update`` lines of a plan."""

from __future__ import annotations

import difflib

DEFAULT_MAX_LINES = 12


def short_diff(old: str, new: str, *, path: str, max_lines: int = DEFAULT_MAX_LINES) -> tuple[str, ...]:
    """The changed lines (``-``/``+``, with ``@@`` hunk headers and one line of context), cut after
    ``max_lines`` with a ``... N more lines`` marker; empty when the texts are equal."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), fromfile=f"a/{path}", tofile=f"b/{path}", n=1, lineterm=""
        )
    )[2:]  # the ---/+++ header repeats what the plan already says
    if len(lines) <= max_lines:
        return tuple(lines)
    return (*lines[:max_lines], f"... {len(lines) - max_lines} more lines")
