"""A RunContext built by hand: in-memory key-value store, a folder as internal storage, captured logs."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.engine.context import RunContext, TaskResult
from daemon.tasks.registry import PLUGINS

try:  # the real renderer, once the expressions package provides it
    from daemon.expressions import render_value  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the expressions package's progress
    from jinja2.sandbox import SandboxedEnvironment

    _env = SandboxedEnvironment()

    def render_value(value: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            return _env.from_string(value).render(context) if "{" in value else value
        if isinstance(value, list):
            return [render_value(v, context) for v in value]
        if isinstance(value, dict):
            return {k: render_value(v, context) for k, v in value.items()}
        return value


class MemoryKv:
    """KvPort in memory (ttl recorded, not enforced)."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], Any] = {}
        self.ttls: dict[tuple[str, str], float | None] = {}

    def get(self, namespace: str, key: str) -> Any | None:
        return self.data.get((namespace, key))

    def set(self, namespace: str, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        self.data[(namespace, key)] = value
        self.ttls[(namespace, key)] = ttl_seconds

    def delete(self, namespace: str, key: str) -> bool:
        return self.data.pop((namespace, key), None) is not None

    def keys(self, namespace: str) -> list[str]:
        return sorted(k for ns, k in self.data if ns == namespace)


class FolderStorage:
    """StoragePort on a folder: ``kestra:///<execution>/<task run>/<name>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_file(self, execution_id: str, task_run_id: str, name: str, src: Path) -> str:
        assert "/" not in name
        target = self.root / execution_id / task_run_id / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        return f"kestra:///{execution_id}/{task_run_id}/{name}"

    def path_of(self, uri: str) -> Path:
        assert uri.startswith("kestra:///")
        return self.root / uri[len("kestra:///") :]

    def delete_execution_files(self, execution_id: str) -> int:
        folder = self.root / execution_id
        if not folder.is_dir():
            return 0
        shutil.rmtree(folder)
        return 1


class Harness:
    """Builds contexts and runs plugins through the registry, keeping what they logged."""

    def __init__(self, tmp_path: Path) -> None:
        self.logs: list[tuple[str, str]] = []
        self.kv = MemoryKv()
        self.storage = FolderStorage(tmp_path / "storage")
        self.workdir = tmp_path / "work"
        self.workdir.mkdir()
        self.variables: dict[str, Any] = {"inputs": {}, "outputs": {}, "vars": {}}

    def context(
        self, *, cancelled: asyncio.Event | None = None, default_runner: str = "PROCESS"
    ) -> RunContext:
        return RunContext(
            execution_id="exec1",
            task_run_id="run1",
            namespace="company.team",
            flow_id="flow",
            attempt=1,
            variables=self.variables,
            workdir=self.workdir,
            render_fn=render_value,
            log_fn=lambda level, message: self.logs.append((level, message)),
            kv=self.kv,
            storage=self.storage,
            secret_fn=lambda name: f"secret-{name}",
            now_fn=lambda: datetime(2024, 1, 1, tzinfo=UTC),
            cancelled=cancelled or asyncio.Event(),
            default_runner=default_runner,
        )

    def run(self, task: Any, ctx: RunContext | None = None) -> TaskResult:
        """Run ``task`` (a model) through ``PLUGINS`` on a fresh context (or ``ctx``)."""
        return asyncio.run(PLUGINS[task.type](task, ctx or self.context()))

    def run_with(self, task: Any, prepare: Callable[[RunContext], None]) -> tuple[TaskResult, RunContext]:
        ctx = self.context()
        prepare(ctx)
        return self.run(task, ctx), ctx


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def make_task(data: dict[str, Any]) -> Any:
    """A task model from its YAML-shaped dict (legacy type names resolved as in a flow)."""
    from pydantic import TypeAdapter

    from daemon.language.tasks import Task

    return TypeAdapter(Task).validate_python({"id": "t", **data})
