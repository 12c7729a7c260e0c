"""Splitting a step's batch of changes by execution, and the error a fenced write raises. Pure.

A step writes every execution's changes in one transaction. When that transaction fails, each execution
(with the subflow executions created with it) is written again in its own transaction, so that one
execution whose write keeps failing cannot stop the others (``persistence``).
"""

from __future__ import annotations

from collections.abc import Iterable

from daemon.engine.state import Batch
from daemon.engine.view import ExecView
from daemon.store import LogEntry


class Fenced(Exception):
    """A step's transaction found executions it may not write: ``lost`` ones are owned by someone else
    now (another owner, a new epoch, or ended in the store); ``moved`` ones changed state in the store
    under their owner (a kill requested from outside). Nothing was written."""

    def __init__(self, lost: Iterable[str], moved: Iterable[str]) -> None:
        self.lost, self.moved = frozenset(lost), frozenset(moved)
        super().__init__(f"fenced: lost {sorted(self.lost)}, moved {sorted(self.moved)}")


def roots(batch: Batch) -> dict[str, str]:
    """Execution id -> the id its changes are written with: a subflow execution created in this batch
    goes with its parent (its row must be inserted in the same transaction as the parent's run), and so
    does one that ends in this batch while its parent changes too (the parent's run ended from that end in
    memory: it must not be written if the child's end is not, its owner having changed)."""
    parent_of = {e.id: e.parent_execution_id for e in batch.executions}
    changed = views_of(batch)
    for view in batch.done:
        parent = view.execution.parent_execution_id
        if parent is not None and parent in changed:
            parent_of.setdefault(view.id, parent)
    root: dict[str, str] = {}
    for execution_id in parent_of:
        current = execution_id
        while parent_of.get(current) is not None and parent_of[current] != current:
            current = parent_of[current]  # type: ignore[assignment]
        root[execution_id] = current
    return root


def split(batch: Batch, logs: list[LogEntry]) -> dict[str, tuple[Batch, list[LogEntry]]]:
    """The batch and its log lines cut into one part per root execution (see ``roots``)."""
    root = roots(batch)
    parts: dict[str, tuple[Batch, list[LogEntry]]] = {}

    def part(execution_id: str) -> tuple[Batch, list[LogEntry]]:
        key = root.get(execution_id, execution_id)
        if key not in parts:
            parts[key] = (Batch(), [])
        return parts[key]

    for execution in batch.executions:
        part(execution.id)[0].executions.append(execution)
    for run_id, (view, run) in batch.created.items():
        part(view.id)[0].created[run_id] = (view, run)
    for run_id, (view, run) in batch.touched.items():
        part(view.id)[0].touched[run_id] = (view, run)
    for execution_id, change in batch.states.items():
        target = part(execution_id)[0]
        target.states[execution_id] = change
        if execution_id in batch.passed:
            target.passed[execution_id] = batch.passed[execution_id]
    for view in batch.done:
        part(view.id)[0].done.append(view)
    for entry in logs:
        part(entry.execution_id)[1].append(entry)
    return parts


def views_of(batch: Batch) -> dict[str, ExecView]:
    """Every execution view the batch changes, by id (new executions included)."""
    found: dict[str, ExecView] = {}
    for view, _ in batch.created.values():
        found[view.id] = view
    for view, _ in batch.touched.values():
        found[view.id] = view
    for view, *_ in batch.states.values():
        found[view.id] = view
    for view in batch.done:
        found[view.id] = view
    return found
