"""Rendering validation results: text (one line per diagnostic and a summary) or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from daemon.errors import Diagnostic


class HasDiagnostics(Protocol):
    """What the reporter needs from a validation result."""

    file: str
    diagnostics: list[Diagnostic]


def count(results: Sequence[HasDiagnostics]) -> tuple[int, int]:
    """(errors, warnings) over all results."""
    errors = sum(1 for r in results for d in r.diagnostics if d.severity == "error")
    warnings = sum(1 for r in results for d in r.diagnostics if d.severity == "warning")
    return errors, warnings


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(results: Sequence[HasDiagnostics]) -> str:
    """``3 files, 1 error, 2 warnings``."""
    errors, warnings = count(results)
    return f"{_plural(len(results), 'file')}, {_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def render_text(results: Sequence[HasDiagnostics]) -> str:
    """One line per diagnostic (``file:line:col: severity: field: message``), then the summary."""
    lines = [d.render() for r in results for d in r.diagnostics]
    lines.append(summary(results))
    return "\n".join(lines) + "\n"


def render_json(results: Sequence[HasDiagnostics]) -> str:
    """A JSON list of diagnostics: file, line, column, severity, path, message, hint."""
    return json.dumps([d.as_dict() for r in results for d in r.diagnostics], indent=2) + "\n"


def print_text_color(results: Sequence[HasDiagnostics]) -> None:
    """The text report with colours (for a terminal); imports rich only here."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    style = {"error": "bold red", "warning": "yellow"}
    for result in results:
        for d in result.diagnostics:
            where = f"{d.path}: " if d.path else ""
            text = f"[bold]{escape(d.file)}:{d.line}:{d.column}:[/] [{style[d.severity]}]{d.severity}:[/] "
            text += escape(f"{where}{d.message}")
            if d.hint:
                text += f" [dim](hint: {escape(d.hint)})[/]"
            console.print(text)
    errors, _ = count(results)
    console.print(f"[{'bold red' if errors else 'bold green'}]{escape(summary(results))}[/]")
