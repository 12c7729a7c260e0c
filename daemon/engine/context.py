"""What a task plugin sees while it runs, and what it hands back.

The executor builds one ``RunContext`` per attempt; plugins never touch the store or the clock directly, which
keeps them testable with a context built by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from daemon.language.task_base import TaskBase
from daemon.runners.output_cap import OutputCap

TaskEndState = Literal["SUCCESS", "WARNING", "FAILED", "KILLED"]
LogFn = Callable[[str, str], None]  # (level, message)


class KvPort(Protocol):
    """The key-value store as a task sees it (namespace-scoped)."""

    def get(self, namespace: str, key: str) -> Any | None: ...
    def set(self, namespace: str, key: str, value: Any, *, ttl_seconds: float | None = None) -> None: ...
    def delete(self, namespace: str, key: str) -> bool: ...
    def keys(self, namespace: str) -> list[str]: ...


class StoragePort(Protocol):
    """Internal storage for files produced by tasks, addressed by ``kestra:///`` URIs."""

    def put_file(self, execution_id: str, task_run_id: str, name: str, src: Path) -> str: ...
    def path_of(self, uri: str) -> Path: ...
    def delete_execution_files(self, execution_id: str) -> int: ...


class NamespaceFilesPort(Protocol):
    """A namespace's synced files (``namespaceFiles``), read-only."""

    def files(self, namespace: str) -> dict[str, bytes]: ...


@dataclass
class RunContext:
    """Services and variables for one attempt of one task run."""

    execution_id: str
    task_run_id: str
    namespace: str
    flow_id: str
    attempt: int
    variables: Mapping[str, Any]  # expression context: flow, execution, inputs, outputs, vars, taskrun...
    workdir: Path
    render_fn: Callable[[Any, Mapping[str, Any]], Any]
    log_fn: LogFn
    kv: KvPort
    storage: StoragePort
    secret_fn: Callable[[str], str]
    now_fn: Callable[[], datetime]
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    default_runner: str = "PROCESS"
    # where plugins keep rebuildable caches (Python environments); None: a temporary folder
    cache_dir: Path | None = None
    namespace_files: NamespaceFilesPort | None = None
    # set by plugins that change the execution itself (Labels, Exit)
    execution_effects: dict[str, Any] = field(default_factory=dict)
    # how much this attempt may log (FLOWD_MAX_LOG_BYTES, FLOWD_MAX_LOG_LINE_BYTES)
    output_cap: OutputCap = field(default_factory=OutputCap)

    def render(self, value: Any, **extra: Any) -> Any:
        """Render every expression inside ``value`` (str, list or dict) with this task's variables."""
        context = {**self.variables, **extra} if extra else self.variables
        return self.render_fn(value, context)

    def log(self, level: str, message: str) -> None:
        """Record one log line of this attempt (secrets are masked by the executor); past the attempt's
        output cap lines are dropped, and ``end_log`` says how many."""
        admitted = self.output_cap.admit(message)
        if admitted is not None:
            self.log_fn(level, admitted)

    def end_log(self) -> None:
        """Log the one line saying how much output the cap dropped, if any (when the output ends)."""
        summary = self.output_cap.summary()
        if summary is not None:
            self.output_cap.dropped_lines = 0
            self.log_fn("WARN", summary)


@dataclass
class TaskResult:
    """What a runnable task ended with."""

    outputs: dict[str, Any] = field(default_factory=dict)
    state: TaskEndState = "SUCCESS"
    error: str | None = None


# A plugin runs one kind of (non-flowable) task; it raises ``TaskError`` to fail with a message.
PluginFn = Callable[[TaskBase, RunContext], Awaitable[TaskResult]]
