"""PostgreSQL CopyIn: ``COPY table FROM STDIN`` fed from an internal-storage file or a local path."""

from __future__ import annotations

import re
from pathlib import Path

from psycopg import sql

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_io import PostgresCopyInTask
from daemon.tasks.jdbc_url import conninfo
from daemon.tasks.pg_session import Session, in_thread
from daemon.tasks.workfiles import is_storage_uri, storage_path

CHUNK = 1024 * 1024
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def identifier_part(name: str) -> sql.Identifier:
    """A name as PostgreSQL reads it unquoted (folded to lower case), or exactly when ``"Quoted"``."""
    name = name.strip()
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return sql.Identifier(name[1:-1].replace('""', '"'))
    if not _PLAIN_NAME.match(name):
        raise TaskError(f"postgres: invalid name {name!r} (quote it to use special characters)")
    return sql.Identifier(name.lower())


def table_identifier(table: str) -> sql.Composable:
    """``schema.table`` or ``table`` as a safe SQL identifier."""
    parts = re.findall(r'"(?:[^"]|"")*"|[^.]+', table.strip())
    if not parts or len(parts) > 3:
        raise TaskError(f"postgres: invalid table name {table!r}")
    return sql.SQL(".").join(identifier_part(p) for p in parts)


def _columns(names: list[str]) -> sql.Composable:
    return sql.SQL("({})").format(sql.SQL(", ").join(identifier_part(n) for n in names))


def copy_statement(task: PostgresCopyInTask, ctx: RunContext) -> sql.Composed:
    """The COPY statement with the task's options; every value is quoted by psycopg, never pasted."""
    options: list[sql.Composable] = [sql.SQL("FORMAT {}").format(sql.SQL(task.format.lower()))]
    if task.header:
        options.append(sql.SQL("HEADER true"))
    if task.freeze:
        options.append(sql.SQL("FREEZE true"))
    for keyword, value in (
        ("DELIMITER", task.delimiter),
        ("QUOTE", task.quote),
        ("ESCAPE", task.escape),
        ("NULL", task.nullString),
        ("ENCODING", task.encoding),
    ):
        if value is not None:
            options.append(sql.SQL(keyword + " {}").format(sql.Literal(str(ctx.render(value)))))
    if task.forceNotNull:
        options.append(sql.SQL("FORCE_NOT_NULL {}").format(_columns(ctx.render(task.forceNotNull))))
    if task.forceNull:
        options.append(sql.SQL("FORCE_NULL {}").format(_columns(ctx.render(task.forceNull))))
    columns = _columns(ctx.render(task.columns)) if task.columns else sql.SQL("")
    return sql.SQL("COPY {table} {columns} FROM STDIN WITH ({options})").format(
        table=table_identifier(str(ctx.render(task.table))),
        columns=columns,
        options=sql.SQL(", ").join(options),
    )


def source_path(task: PostgresCopyInTask, ctx: RunContext) -> Path:
    """The file to load: an internal-storage URI, or a path (relative ones from the task's workdir)."""
    source = str(ctx.render(task.from_)).strip()
    if is_storage_uri(source):
        return storage_path(ctx, source)
    path = ctx.workdir / source
    if not path.is_file():
        raise TaskError(f"postgres: no such file to copy from: {source}")
    return path


async def run_copy_in(task: PostgresCopyInTask, ctx: RunContext) -> TaskResult:
    """Stream the file into the table with COPY; outputs ``rowCount``."""
    if task.oids:
        ctx.log("WARN", "oids is not supported by PostgreSQL 12 and later; ignored")
    statement = copy_statement(task, ctx)
    path = source_path(task, ctx)
    url = conninfo(
        str(ctx.render(task.url)),
        username=ctx.render(task.username) if task.username else None,
        password=ctx.render(task.password) if task.password else None,
    )

    def work(session: Session) -> int:
        with session.connect() as conn, conn.cursor() as cur:
            with cur.copy(statement) as copy, path.open("rb") as data:
                while chunk := data.read(CHUNK):
                    copy.write(chunk)
            return max(cur.rowcount, 0)

    rows = await in_thread(ctx, Session(url), work)
    return TaskResult(outputs={"rowCount": rows})
