"""Helpers for engine tests: deploy a flow from YAML into the store and run it with a real executor."""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.settings import Settings
from daemon.store import Execution, Store, TaskRun
from daemon.store.flows import DeployedFlow
from daemon.tasks.registry import PLUGINS

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def deploy(store: Store, text: str) -> DeployedFlow:
    """Deploy a flow file's text (namespace and id read from it)."""
    import yaml

    source = textwrap.dedent(text)
    data = yaml.safe_load(source)
    return store.flows.deploy(
        data["namespace"], data["id"], source=source, hash=hashlib.sha256(source.encode()).hexdigest(),
        path=None, commit=None, now=NOW,
    )  # fmt: skip


class Harness:
    """A store, an executor and shortcuts to run flows."""

    def __init__(self, store: Store, home: Path, environ: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.settings = Settings(home=home)
        self.executor = Executor(
            store, self.settings, SystemClock(), PLUGINS, workers=8, environ=environ or {}
        )

    def run(self, text: str, inputs: Mapping[str, Any] | None = None, **kw: Any) -> Execution:
        record = deploy(self.store, text)
        execution_id = self.executor.create_execution(record, inputs or {}, **kw)
        return asyncio.run(asyncio.wait_for(self.executor.run_until_done(execution_id), 60))

    def runs(self, execution_id: str, task_id: str | None = None) -> list[TaskRun]:
        rows = self.store.executions.list_task_runs(execution_id)
        return [r for r in rows if task_id is None or r.task_id == task_id]

    def states(self, execution_id: str) -> dict[str, str]:
        return {r.task_id: r.state for r in self.runs(execution_id)}

    def logs(self, execution_id: str) -> list[str]:
        return [line.message for line in self.store.logs.for_execution(execution_id)]


@pytest.fixture
def harness(store: Store, tmp_path: Path) -> Harness:
    return Harness(store, tmp_path / "home")


@pytest.fixture
def make_harness(store: Store, tmp_path: Path) -> Callable[..., Harness]:
    def make(environ: Mapping[str, str] | None = None) -> Harness:
        return Harness(store, tmp_path / "home", environ)

    return make


def log(task_id: str, message: str = "x", **extra: Any) -> dict[str, Any]:
    return {"id": task_id, "type": "io.kestra.plugin.core.log.Log", "message": message, **extra}
