"""Execution and task run states (Kestra's) and the transitions between them. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

CREATED = "CREATED"
QUEUED = "QUEUED"
RUNNING = "RUNNING"
PAUSED = "PAUSED"
SUCCESS = "SUCCESS"
WARNING = "WARNING"
FAILED = "FAILED"
KILLING = "KILLING"
KILLED = "KILLED"
CANCELLED = "CANCELLED"
RETRYING = "RETRYING"
SKIPPED = "SKIPPED"
RESTARTED = "RESTARTED"
RETRIED = "RETRIED"  # a failed execution a flow-level CREATE_NEW_EXECUTION retry replaced by a new one

ALL_STATES: tuple[str, ...] = (
    CREATED, QUEUED, RUNNING, PAUSED, SUCCESS, WARNING, FAILED, KILLING, KILLED, CANCELLED, RETRYING,
    SKIPPED, RESTARTED, RETRIED,
)  # fmt: skip
TERMINAL: frozenset[str] = frozenset({SUCCESS, WARNING, FAILED, KILLED, CANCELLED, SKIPPED, RETRIED})
# terminal states that let the next task of a sequence run
OK: frozenset[str] = frozenset({SUCCESS, WARNING, SKIPPED})

TRANSITIONS: dict[str, frozenset[str]] = {
    CREATED: frozenset({QUEUED, RUNNING, SKIPPED, KILLED, CANCELLED, FAILED, PAUSED, KILLING, SUCCESS}),
    QUEUED: frozenset({CREATED, RUNNING, KILLED, CANCELLED, FAILED, KILLING}),
    RUNNING: frozenset(
        {PAUSED, SUCCESS, WARNING, FAILED, KILLING, KILLED, RETRYING, CREATED, SKIPPED, RETRIED}
    ),
    PAUSED: frozenset({RUNNING, KILLING, KILLED, FAILED, SUCCESS, CREATED}),
    RETRYING: frozenset({CREATED, RUNNING, KILLED, FAILED}),
    KILLING: frozenset({KILLED, FAILED, SUCCESS, WARNING}),
    RESTARTED: frozenset({RUNNING, CREATED, KILLING, KILLED}),
    SUCCESS: frozenset({RESTARTED}),
    WARNING: frozenset({RESTARTED}),
    FAILED: frozenset({RESTARTED, RETRIED}),
    KILLED: frozenset({RESTARTED}),
    CANCELLED: frozenset(),
    SKIPPED: frozenset(),
    RETRIED: frozenset(),
}


class IllegalTransition(ValueError):
    """A state change that Kestra's state machine does not allow."""


def is_terminal(state: str) -> bool:
    """True for states an execution or a task run never leaves (except by a restart)."""
    return state in TERMINAL


def can_transition(current: str, new: str) -> bool:
    """Whether ``current -> new`` is legal (staying in the same state is always allowed)."""
    return current == new or new in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, new: str) -> None:
    """Raise ``IllegalTransition`` unless ``current -> new`` is legal."""
    if not can_transition(current, new):
        raise IllegalTransition(f"illegal state change {current} -> {new}")


def history_entry(state: str, date: datetime) -> dict[str, Any]:
    """One entry of a state history, as stored (ISO date, ``Z`` suffix)."""
    return {"state": state, "date": iso(date)}


def iso(date: datetime) -> str:
    """ISO-8601 with a ``Z`` for UTC, the form Kestra prints."""
    return date.isoformat().replace("+00:00", "Z")


def worst(states: Iterable[str]) -> str:
    """The combined end state of a group of terminal states (FAILED > KILLED > WARNING > SUCCESS)."""
    result = SUCCESS
    rank = {SUCCESS: 0, SKIPPED: 0, WARNING: 1, CANCELLED: 2, KILLED: 3, FAILED: 4}
    for state in states:
        if rank.get(state, 0) > rank[result]:
            result = state if state != SKIPPED else SUCCESS
    return result
