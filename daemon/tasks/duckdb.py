"""DuckDB ``Query`` and ``Queries`` on the ``duckdb`` package (the extra ``flowd[duckdb]``).

As in Kestra, the statements run with the working directory as the place relative file names resolve
(``read_csv_auto('in.csv')`` reads an ``inputFiles`` entry), ``{{ outputFiles.name }}`` is the local path of
an output file, and an internal-storage URI written in the SQL (``read_csv_auto('{{ outputs.dl.uri }}')``)
reads the stored file itself.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import shutil
from pathlib import Path
from typing import Any

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_io import DuckDbQueryTask
from daemon.tasks.namespace_files import copy_namespace_files
from daemon.tasks.sql_results import collect
from daemon.tasks.workfiles import safe_relative, storage_path, store_output_files, write_input_files

MISSING = "io.kestra.plugin.jdbc.duckdb needs the 'duckdb' package: pip install 'flowd[duckdb]'"
# a storage URI inside SQL text ends at a quote, a blank or a closing parenthesis
_STORAGE_URI = re.compile(r"kestra:///[^'\"\s)]+")
DB_FILE = ".flowd.duckdb"
ROW_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL", "RELATION"})


def database_path(task: DuckDbQueryTask, ctx: RunContext) -> str:
    """The database: ``databaseUri`` (a stored file, copied into the workdir), ``url``
    (``jdbc:duckdb:<path>``) or ``databaseFile``; in memory by default (or a file when ``outputDbFile``)."""
    if task.databaseUri:
        uri = str(ctx.render(task.databaseUri)).strip()
        local = ctx.workdir / DB_FILE
        shutil.copyfile(storage_path(ctx, uri), local)
        return str(local)
    raw = str(ctx.render(task.url or "")).strip()
    if raw.startswith("jdbc:duckdb:"):
        raw = raw[len("jdbc:duckdb:") :]
    raw = raw or str(ctx.render(task.databaseFile or "")).strip()
    if not raw and task.outputDbFile:
        return str(ctx.workdir / DB_FILE)
    return raw or ":memory:"


def local_storage_uris(ctx: RunContext, sql: str) -> str:
    """Replace every internal-storage URI in ``sql`` by the path of the stored file."""
    return _STORAGE_URI.sub(lambda m: str(storage_path(ctx, m.group(0))), sql)


def output_paths(ctx: RunContext, names: list[str]) -> dict[str, str]:
    """``outputFiles`` names as local paths (what ``{{ outputFiles.x }}`` renders to in the SQL)."""
    return {name: str(safe_relative(ctx.workdir, name)) for name in names}


def _statements(duckdb: Any, sql: str) -> list[Any]:
    conn = duckdb.connect(":memory:")
    try:
        return list(conn.extract_statements(sql))
    finally:
        conn.close()


async def _run(task: DuckDbQueryTask, ctx: RunContext, *, each: bool) -> TaskResult:
    try:
        duckdb: Any = importlib.import_module("duckdb")
    except ImportError as exc:
        raise TaskError(MISSING) from exc
    await copy_namespace_files(ctx, task.namespaceFiles)
    write_input_files(ctx, task.inputFiles)
    files = output_paths(ctx, [str(ctx.render(n)) for n in task.outputFiles])
    statement = str(ctx.render(task.sql, workingDir=str(ctx.workdir), outputFiles=files))
    statement = local_storage_uris(ctx, statement)
    params = ctx.render(task.parameters) if task.parameters else None
    database = database_path(task, ctx)
    workdir = ctx.workdir

    def store_path(index: int) -> Path | None:
        return workdir / f".{task.id}-result-{index}.jsonl" if task.fetchType == "STORE" else None

    def work() -> list[dict[str, Any]]:
        with duckdb.connect(database) as conn:
            # relative file names resolve in the working directory, as in Kestra's worker
            quoted = str(workdir).replace("'", "''")
            conn.execute(f"SET file_search_path = '{quoted}'")
            if not each:
                return [collect(conn.execute(statement, params), task.fetchType, store_path(0))]
            results = []
            for index, one in enumerate(_statements(duckdb, statement)):
                cursor = conn.execute(one.query, params)
                # DDL and DML answer with a count row: only queries give results, as in Kestra
                if cursor.description is not None and one.type.name in ROW_STATEMENTS:
                    results.append(collect(cursor, task.fetchType, store_path(index)))
            return results

    try:
        results = await asyncio.to_thread(work)
    except duckdb.Error as exc:
        raise TaskError(f"duckdb: {exc}") from exc
    for index, outputs in enumerate(results):
        path = store_path(index)
        if path is not None and path.exists():
            outputs["uri"] = ctx.storage.put_file(ctx.execution_id, ctx.task_run_id, path.name[1:], path)
            path.unlink()
    outputs = dict(results[-1]) if results and not each else {}
    if each:
        outputs["outputs"] = results
    stored = store_output_files(ctx, [name for name in files])
    outputs["outputFiles"] = stored
    if task.outputDbFile and Path(database).is_file():
        outputs["databaseUri"] = ctx.storage.put_file(
            ctx.execution_id, ctx.task_run_id, f"{task.id}.duckdb", Path(database)
        )
    return TaskResult(outputs=outputs)


async def run_duckdb_query(task: DuckDbQueryTask, ctx: RunContext) -> TaskResult:
    """Run ``sql`` (the last statement's result is fetched as ``fetchType`` says)."""
    return await _run(task, ctx, each=False)


async def run_duckdb_queries(task: DuckDbQueryTask, ctx: RunContext) -> TaskResult:
    """Run each statement of ``sql``; ``outputs`` lists the fetched result of each that returns rows."""
    return await _run(task, ctx, each=True)
