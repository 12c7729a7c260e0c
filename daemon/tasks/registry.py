"""``PLUGINS``: canonical task type -> plugin. Plugin modules are imported the first time their task runs,
so a CLI that never runs an HTTP or PostgreSQL task never pays for httpx or psycopg."""

from __future__ import annotations

import importlib

from daemon.engine.context import PluginFn, RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.task_base import TaskBase
from daemon.language.tasks_core import (
    EchoTask,
    ExitTask,
    FailTask,
    KvDeleteTask,
    KvGetTask,
    KvSetTask,
    LabelsTask,
    LogTask,
    OutputValuesTask,
    PurgeCurrentExecutionFilesTask,
    ReturnTask,
    SleepTask,
)
from daemon.language.tasks_data import DBT_COMMAND_TASKS, DbtCliTask, DuckDbQueriesTask, KvGetKeysTask
from daemon.language.tasks_io import (
    DuckDbQueryTask,
    HttpDownloadTask,
    HttpRequestTask,
    PostgresCopyInTask,
    PostgresQueriesTask,
    PostgresQueryTask,
    SlackIncomingWebhookTask,
)
from daemon.language.tasks_scripts import (
    PythonCommandsTask,
    PythonScriptTask,
    ShellCommandsTask,
    ShellScriptTask,
)
from daemon.tasks.cancel import Cancelled


def _lazy(model: type[TaskBase], module: str, function: str) -> PluginFn:
    """A plugin that imports ``daemon.tasks.<module>`` on first use and calls ``function`` in it."""

    async def plugin(task: TaskBase, ctx: RunContext) -> TaskResult:
        if not isinstance(task, model):
            raise TaskError(f"task '{task.id}' of type {task.type} is not a {model.__name__}")
        run = getattr(importlib.import_module(f"daemon.tasks.{module}"), function)
        try:
            result: TaskResult = await run(task, ctx)
        except Cancelled:
            return TaskResult(state="KILLED", error="cancelled")
        return result

    plugin.__name__ = plugin.__qualname__ = function
    return plugin


_TABLE: list[tuple[type[TaskBase], str, str]] = [
    (LogTask, "core", "run_log"),
    (EchoTask, "core", "run_echo"),
    (ReturnTask, "core", "run_return"),
    (OutputValuesTask, "core", "run_output_values"),
    (FailTask, "core", "run_fail"),
    (ExitTask, "core", "run_exit"),
    (LabelsTask, "core", "run_labels"),
    (SleepTask, "core", "run_sleep"),
    (PurgeCurrentExecutionFilesTask, "core", "run_purge_execution_files"),
    (KvSetTask, "kv", "run_kv_set"),
    (KvGetTask, "kv", "run_kv_get"),
    (KvDeleteTask, "kv", "run_kv_delete"),
    (KvGetKeysTask, "kv", "run_kv_get_keys"),
    (ShellCommandsTask, "scripts", "run_shell_commands"),
    (ShellScriptTask, "scripts", "run_shell_script"),
    (PythonCommandsTask, "scripts", "run_python_commands"),
    (PythonScriptTask, "scripts", "run_python_script"),
    (HttpRequestTask, "http", "run_request"),
    (HttpDownloadTask, "http", "run_download"),
    (PostgresQueryTask, "postgres", "run_query"),
    (PostgresQueriesTask, "postgres", "run_queries"),
    (PostgresCopyInTask, "postgres_copy", "run_copy_in"),
    (DuckDbQueryTask, "duckdb", "run_duckdb_query"),
    (DuckDbQueriesTask, "duckdb", "run_duckdb_queries"),
    (DbtCliTask, "dbt", "run_dbt_cli"),
    *[(model, "dbt", "run_dbt_command") for model in DBT_COMMAND_TASKS],
    (SlackIncomingWebhookTask, "slack", "run_slack_incoming_webhook"),
]

PLUGINS: dict[str, PluginFn] = {model.TYPE: _lazy(model, module, fn) for model, module, fn in _TABLE}
