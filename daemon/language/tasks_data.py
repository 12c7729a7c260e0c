"""Data tasks: DuckDB ``Queries`` and dbt (``DbtCLI`` and the older one-command ``Build``/``Run``/...)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from daemon.language.common import new_list
from daemon.language.task_base import TaskBase
from daemon.language.tasks_io import DuckDbQueryTask
from daemon.language.tasks_scripts import ScriptTask

DBT_CLI = "io.kestra.plugin.dbt.cli"


class DuckDbQueriesTask(DuckDbQueryTask):
    TYPE = "io.kestra.plugin.jdbc.duckdb.Queries"
    IGNORED = DuckDbQueryTask.IGNORED | {"transaction"}


class DbtTask(ScriptTask):
    """What the dbt tasks share: the project folder, a ``profiles.yml`` given inline, artefact parsing."""

    IGNORED = ScriptTask.IGNORED | {"storeManifest", "loadManifest", "logFormat"}
    projectDir: str | None = None
    profiles: str | dict[str, Any] | None = None
    parseRunResults: bool = True
    dbtPath: str = "dbt"


class DbtCliTask(DbtTask):
    TYPE = f"{DBT_CLI}.DbtCLI"
    commands: list[str] = Field(min_length=1)


class DbtCommandTask(DbtTask):
    """The older one-command tasks; ``COMMAND`` is the dbt sub-command they run."""

    COMMAND: ClassVar[str] = ""
    select: list[str] = Field(default_factory=new_list)
    exclude: list[str] = Field(default_factory=new_list)
    selector: str | None = None
    target: str | None = None
    thread: int | None = None
    fullRefresh: bool = False
    debug: bool = False
    warnError: bool = False
    failFast: bool = False


def _command(name: str, command: str) -> type[DbtCommandTask]:
    return type(
        f"Dbt{name}Task",
        (DbtCommandTask,),
        {"TYPE": f"{DBT_CLI}.{name}", "COMMAND": command, "__module__": __name__},
    )


DBT_COMMAND_TASKS: list[type[DbtCommandTask]] = [
    _command(name, command)
    for name, command in (
        ("Build", "build"),
        ("Run", "run"),
        ("Test", "test"),
        ("Seed", "seed"),
        ("Snapshot", "snapshot"),
        ("Compile", "compile"),
        ("Deps", "deps"),
        ("Freshness", "source freshness"),
        ("List", "list"),
    )
]


class KvGetKeysTask(TaskBase):
    """The keys of a namespace's key-value store (those starting with ``prefix``)."""

    TYPE = "io.kestra.plugin.core.kv.GetKeys"
    prefix: str | None = None
    namespace: str | None = None


DATA_TASKS: list[type[TaskBase]] = [DuckDbQueriesTask, DbtCliTask, *DBT_COMMAND_TASKS, KvGetKeysTask]
