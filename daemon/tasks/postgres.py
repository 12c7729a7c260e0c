"""PostgreSQL Query and Queries (psycopg 3, run in a thread)."""

from __future__ import annotations

import re
from typing import Any

from daemon.engine.context import RunContext, TaskResult
from daemon.language.tasks_io import PostgresQueriesTask, PostgresQueryTask
from daemon.tasks.jdbc_url import conninfo
from daemon.tasks.pg_session import Session, in_thread
from daemon.tasks.sql_results import collect

# quoted strings, quoted identifiers, comments and ``::`` casts are copied; ``:name`` becomes a placeholder
_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|::|:([A-Za-z_][A-Za-z0-9_]*)|%", re.DOTALL
)


def named_parameters(statement: str) -> str:
    """Kestra's ``:name`` parameters as psycopg's ``%(name)s`` (a literal ``%`` is doubled)."""

    def swap(match: re.Match[str]) -> str:
        if match.group(1):
            return f"%({match.group(1)})s"
        return "%%" if match.group() == "%" else match.group()

    return _TOKENS.sub(swap, statement)


def connection_string(task: PostgresQueryTask | PostgresQueriesTask, ctx: RunContext) -> str:
    """The libpq conninfo from the task's rendered ``url``, ``username`` and ``password``."""
    return conninfo(
        str(ctx.render(task.url)),
        username=ctx.render(task.username) if task.username else None,
        password=ctx.render(task.password) if task.password else None,
    )


async def _execute(
    task: PostgresQueryTask | PostgresQueriesTask, ctx: RunContext, *, autocommit: bool
) -> TaskResult:
    statement = str(ctx.render(task.sql))
    params: dict[str, Any] | None = None
    if task.parameters:
        params = ctx.render(task.parameters)
        statement = named_parameters(statement)
    store_path = ctx.workdir / f".{task.id}-result.jsonl" if task.fetchType == "STORE" else None

    def work(session: Session) -> dict[str, Any]:
        with session.connect() as conn, conn.cursor() as cur:
            # without parameters psycopg sends the text as is, so a ``;``-separated script runs whole
            cur.execute(statement.encode(), params)  # bytes: no LiteralString needed
            while cur.nextset():  # the outputs are the last statement's
                pass
            return collect(cur, task.fetchType, store_path)

    outputs = await in_thread(ctx, Session(connection_string(task, ctx), autocommit=autocommit), work)
    if store_path is not None and "size" in outputs:
        try:
            outputs["uri"] = ctx.storage.put_file(
                ctx.execution_id, ctx.task_run_id, f"{task.id}.jsonl", store_path
            )
        finally:
            store_path.unlink(missing_ok=True)
    return TaskResult(outputs=outputs)


async def run_query(task: PostgresQueryTask, ctx: RunContext) -> TaskResult:
    """Run ``sql`` in one transaction; outputs per ``fetchType`` (``row``, ``rows``, ``uri`` + ``size``)
    or ``rowCount`` for a statement without result rows. STORE writes JSON lines (one object per row)."""
    return await _execute(task, ctx, autocommit=False)


async def run_queries(task: PostgresQueriesTask, ctx: RunContext) -> TaskResult:
    """Run several ``;``-separated statements (in one transaction unless ``transaction: false``); outputs are
    those of the last statement."""
    return await _execute(task, ctx, autocommit=not task.transaction)
