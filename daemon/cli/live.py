"""Following an execution from the CLI: its task tree with states and durations, its log lines as they are
written, and the first line of each failed task's error next to that task.

``ExecutionFollower.poll()`` reads the store (the execution, its task runs, log lines after the last seen)
and prints new log lines; ``tree()`` renders the current state. ``flowd execute`` shows the tree live (rich)
on a terminal; in a pipe the log lines and the final tree are printed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

STATE_STYLE = {
    "SUCCESS": "green", "WARNING": "yellow", "FAILED": "red", "KILLED": "red", "CANCELLED": "red",
    "RUNNING": "cyan", "SKIPPED": "dim", "PAUSED": "magenta", "CREATED": "blue", "QUEUED": "blue",
    "KILLING": "red", "RETRYING": "yellow", "RETRIED": "yellow",
}  # fmt: skip
LEVEL_STYLE = {"ERROR": "red", "WARN": "yellow", "WARNING": "yellow", "DEBUG": "dim", "TRACE": "dim"}


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def duration(state: dict[str, Any], now: datetime | None = None) -> str:
    """``1.23s`` / ``2.5m`` between the state's start and end (or ``now`` while it runs)."""
    start, end = state.get("startDate"), state.get("endDate")
    if not start or (not end and now is None):
        return ""
    seconds = ((_parse(end) if end else now) - _parse(start)).total_seconds()  # type: ignore[operator]
    return f"{seconds:.2f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


def first_line(message: str | None) -> str:
    """The first non-empty line of an error message."""
    return next((line.strip() for line in (message or "").splitlines() if line.strip()), "")


def _label(item: dict[str, Any], errors: dict[str, str], now: datetime | None) -> str:
    current = item["state"]["current"]
    style = STATE_STYLE.get(current, "white")
    value = f" [dim]\\[{escape(str(item['value']))}][/dim]" if item.get("value") is not None else ""
    attempts = len(item.get("attempts") or [])
    extra = f" [dim]{attempts} attempts[/dim]" if attempts > 1 else ""
    running = now if current in ("RUNNING", "CREATED") else None
    label = (
        f"{escape(item['taskId'])}{value} [{style}]{current}[/{style}] "
        f"[dim]{duration(item['state'], running)}[/dim]{extra}"
    )
    error = errors.get(item["id"])
    if error and current in ("FAILED", "KILLED", "WARNING"):
        label += f" [red]{escape(error)}[/red]"
    return label


def execution_tree(
    shape: dict[str, Any], errors: dict[str, str] | None = None, now: datetime | None = None
) -> Tree:
    """The execution (Kestra's API shape) as a tree of task runs; ``errors``: task run id -> first line."""
    errors = errors or {}
    current = shape["state"]["current"]
    style = STATE_STYLE.get(current, "white")
    tree = Tree(
        f"[bold]{escape(shape['namespace'])}/{escape(shape['flowId'])}[/bold] rev {shape['flowRevision']} "
        f"execution {shape['id']} [{style}]{current}[/{style}] [dim]{duration(shape['state'], now)}[/dim]"
    )
    nodes: dict[str | None, Tree] = {None: tree}
    pending = list(shape["taskRunList"])
    while pending:  # parents before children, whatever the list order
        progressed = False
        for item in list(pending):
            parent = nodes.get(item.get("parentTaskRunId"))
            if parent is not None:
                nodes[item["id"]] = parent.add(_label(item, errors, now))
                pending.remove(item)
                progressed = True
        if not progressed:
            for item in pending:
                nodes[item["id"]] = tree.add(_label(item, errors, now))
            break
    execution_error = errors.get("")
    if execution_error and current in ("FAILED", "KILLED"):
        tree.add(f"[red]{escape(execution_error)}[/red]")
    return tree


def error_lines(store: Any, execution_id: str) -> dict[str, str]:
    """The first line of the first ERROR log line of each task run ("" for the execution's own)."""
    errors: dict[str, str] = {}
    for line in store.logs.for_execution(execution_id, min_level="ERROR"):
        errors.setdefault(line.task_run_id or "", first_line(line.message))
    return errors


def format_log(line: Any) -> str:
    """One log line for the terminal: time, level, task, message (markup)."""
    stamp = line.timestamp.strftime("%H:%M:%S")
    style = LEVEL_STYLE.get(line.level, "")
    level = f"[{style}]{line.level:<5}[/{style}]" if style else f"{line.level:<5}"
    return f"[dim]{stamp}[/dim] {level} [bold]{escape(line.task_id or '-')}[/bold] {escape(line.message)}"


class ExecutionFollower:
    """Reads an execution's progress from the store and prints its new log lines."""

    def __init__(self, store: Any, execution_id: str, console: Console, *, logs: bool = True) -> None:
        self.store = store
        self.execution_id = execution_id
        self.console = console
        self.logs = logs
        self.after = 0
        self.errors: dict[str, str] = {}
        self.shape: dict[str, Any] | None = None
        self.row: Any = None

    def poll(self) -> Any:
        """Refresh from the store; returns the execution row (None if it is not written yet)."""
        from daemon.engine.api_shape import execution_to_api

        for line in self.store.logs.for_execution(self.execution_id, after_id=self.after):
            self.after = line.id
            if line.level == "ERROR":
                self.errors.setdefault(line.task_run_id or "", first_line(line.message))
            if self.logs:
                self.console.print(format_log(line), soft_wrap=True)
        self.row = self.store.executions.get(self.execution_id)
        if self.row is not None:
            self.shape = execution_to_api(self.row, self.store.executions.list_task_runs(self.execution_id))
        return self.row

    def tree(self, now: datetime | None = None) -> Tree:
        """The current task tree."""
        if self.shape is None:
            return Tree(f"execution {self.execution_id} [blue]CREATED[/blue]")
        return execution_tree(self.shape, self.errors, now)


def print_outputs(console: Console, shape: dict[str, Any]) -> None:
    """The execution's flow outputs, when it has any."""
    if shape.get("outputs"):
        console.print("outputs: " + escape(json.dumps(shape["outputs"], default=str)), soft_wrap=True)
