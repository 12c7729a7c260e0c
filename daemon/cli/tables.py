"""Tables of the CLI: ids and names are never truncated, whatever the terminal's width or in a pipe.

Key columns (flow names, execution ids) keep their full width and never wrap; the other columns fold onto
more lines. When even that does not fit, the table is printed wider than the terminal (the terminal wraps
the line) rather than cutting an id someone will copy into the next command.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

FOLDED_MIN = 8  # the narrowest a folded column gets


def console() -> Console:
    """The console every CLI command prints with (no automatic highlighting of numbers and paths)."""
    return Console(highlight=False, soft_wrap=True)  # a long path or id is never broken onto two lines


def _width(cell: str) -> int:
    return max((Text.from_markup(line).cell_len for line in cell.splitlines() or [""]), default=0)


def print_table(
    out: Console, headers: Sequence[str], rows: Sequence[Sequence[str]], *, keys: Collection[str]
) -> None:
    """Print ``rows`` under ``headers``; the columns named in ``keys`` are never cut (cells are markup)."""
    natural = [max([len(h), *(_width(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    table = Table()
    needed = 1 + 3 * len(headers)  # borders and padding
    for header, width in zip(headers, natural, strict=True):
        if header in keys:
            table.add_column(header, no_wrap=True, min_width=width, overflow="fold")
            needed += width
        else:
            table.add_column(header, overflow="fold", min_width=min(FOLDED_MIN, width))
            needed += min(FOLDED_MIN, width)
    for row in rows:
        table.add_row(*row)
    if needed > out.width:
        out = Console(file=out.file, width=needed, highlight=False, force_terminal=out.is_terminal)
    out.print(table)
