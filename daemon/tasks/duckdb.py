"""DuckDB Query, when the optional ``duckdb`` package is installed (flowd does not depend on it)."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_io import DuckDbQueryTask
from daemon.tasks.sql_results import collect
from daemon.tasks.workfiles import store_output_files, write_input_files

MISSING = "io.kestra.plugin.jdbc.duckdb.Query needs the 'duckdb' package: pip install duckdb"


def database_path(task: DuckDbQueryTask, ctx: RunContext) -> str:
    """The database file from ``url`` (``jdbc:duckdb:<path>``) or ``databaseUri``; in memory by default."""
    raw = str(ctx.render(task.databaseUri or task.url or "")).strip()
    if raw.startswith("jdbc:duckdb:"):
        raw = raw[len("jdbc:duckdb:") :]
    return raw or ":memory:"


async def run_duckdb_query(task: DuckDbQueryTask, ctx: RunContext) -> TaskResult:
    """Run ``sql`` (``{{ workingDir }}`` is the folder holding ``inputFiles``); outputs as for PostgreSQL."""
    try:
        duckdb: Any = importlib.import_module("duckdb")
    except ImportError as exc:
        raise TaskError(MISSING) from exc
    write_input_files(ctx, task.inputFiles)
    statement = str(ctx.render(task.sql, workingDir=str(ctx.workdir)))
    store_path = ctx.workdir / f".{task.id}-result.jsonl" if task.fetchType == "STORE" else None

    def work() -> dict[str, Any]:
        with duckdb.connect(database_path(task, ctx)) as conn:
            cursor = conn.execute(statement)
            return collect(cursor, task.fetchType, store_path)

    try:
        outputs = await asyncio.to_thread(work)
    except duckdb.Error as exc:
        raise TaskError(f"duckdb: {exc}") from exc
    if store_path is not None and "size" in outputs:
        outputs["uri"] = ctx.storage.put_file(
            ctx.execution_id, ctx.task_run_id, f"{task.id}.jsonl", store_path
        )
        store_path.unlink(missing_ok=True)
    outputs["outputFiles"] = store_output_files(ctx, task.outputFiles)
    return TaskResult(outputs=outputs)
