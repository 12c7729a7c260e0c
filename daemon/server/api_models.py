"""Pydantic response models of the HTTP API (they make the OpenAPI document; Kestra's property names).

The execution shape itself is built by ``daemon.engine.api_shape``; these models describe it and let
extra properties through (``extra="allow"``), so a field the engine adds is never dropped by the API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class StateHistory(_Open):
    state: str | None = None
    date: str | None = None


class State(_Open):
    current: str
    histories: list[StateHistory] = Field(default_factory=list)
    startDate: str | None = None
    endDate: str | None = None


class AttemptState(_Open):
    current: str | None = None
    startDate: str | None = None
    endDate: str | None = None


class Attempt(_Open):
    state: AttemptState


class TaskRun(_Open):
    id: str
    executionId: str
    taskId: str
    parentTaskRunId: str | None = None
    value: str | None = None
    iteration: int | None = None
    state: State
    attempts: list[Attempt] = Field(default_factory=list)
    outputs: dict[str, Any] = Field(default_factory=dict)


class Label(BaseModel):
    key: str
    value: str


class ExecutionTrigger(_Open):
    id: str | None = None
    type: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class Execution(_Open):
    """An execution with its task runs, as Kestra's API returns it."""

    id: str
    namespace: str
    flowId: str
    flowRevision: int
    state: State
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    labels: list[Label] = Field(default_factory=list)
    trigger: ExecutionTrigger | None = None
    parentExecutionId: str | None = None
    taskRunList: list[TaskRun] = Field(default_factory=list)


class ExecutionPage(BaseModel):
    """One page of an execution search (Kestra's ``PagedResults``)."""

    results: list[Execution]
    total: int


class LogEntry(BaseModel):
    """One log line of an execution."""

    id: int = Field(description="increasing; pass the last one seen as Last-Event-ID to /follow")
    namespace: str
    flowId: str
    executionId: str
    taskId: str | None = None
    taskRunId: str | None = None
    attemptNumber: int | None = None
    timestamp: str
    level: str
    message: str


class Flow(_Open):
    """A deployed flow: the flow model (Kestra's properties) plus where it came from and its sync state."""

    id: str
    namespace: str
    revision: int
    syncState: str
    path: str | None = None
    commit: str | None = None
    updated: str
    deleted: bool = False
    source: str | None = Field(default=None, description="the YAML source (with ?source=true)")
    triggers: list[dict[str, Any]] = Field(default_factory=list)


class FlowRevision(BaseModel):
    namespace: str
    id: str
    revision: int
    source: str
    hash: str
    path: str | None = None
    commit: str | None = None
    created: str
    deleted: bool


class DiagnosticOut(BaseModel):
    """One problem found by validation; ``line``/``column`` are 1-based positions in the posted YAML."""

    file: str
    line: int
    column: int
    severity: str
    path: str
    message: str
    hint: str | None = None


class Health(BaseModel):
    status: str = Field(description="UP or DOWN")
    store: str = Field(description="UP when the database answers")
    dialect: str
    message: str | None = None
    parts: dict[str, str] = Field(
        default_factory=dict, description="each supervised daemon part: UP, RESTARTING or DOWN (reason)"
    )


class SyncResponse(_Open):
    """The outcome of a sync, or only ``accepted`` when it runs in the background."""

    accepted: bool = True
    result: str | None = None
    syncId: int | None = None
    commit: str | None = None
    message: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)


class ErrorBody(_Open):
    """Every error response: a message, and for an input error the input's name."""

    message: str
    error: str | None = None
    input: str | None = None
