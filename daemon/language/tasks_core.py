"""Runnable core tasks: log, return, outputs, execution control, key-value, storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from daemon.language.aliases import CORE
from daemon.language.common import Duration, LogLevel, new_dict, new_list
from daemon.language.task_base import TaskBase

if TYPE_CHECKING:
    from daemon.language.tasks import Task


class LogTask(TaskBase):
    TYPE = f"{CORE}.log.Log"
    message: str | list[str]
    level: LogLevel = "INFO"


class EchoTask(TaskBase):
    """Deprecated in Kestra; behaves as Log with ``format`` as the message."""

    TYPE = f"{CORE}.debug.Echo"
    format: str
    level: LogLevel = "INFO"


class ReturnTask(TaskBase):
    TYPE = f"{CORE}.debug.Return"
    format: str | None = None


class OutputValuesTask(TaskBase):
    TYPE = f"{CORE}.output.OutputValues"
    values: dict[str, Any] = Field(default_factory=new_dict)


class FailTask(TaskBase):
    TYPE = f"{CORE}.execution.Fail"
    condition: str | bool | None = None
    errorMessage: str = "Task failure"


class ExitTask(TaskBase):
    TYPE = f"{CORE}.execution.Exit"
    state: Literal["SUCCESS", "WARNING", "FAILED", "KILLED"] = "SUCCESS"
    condition: str | bool | None = None


class LabelsTask(TaskBase):
    TYPE = f"{CORE}.execution.Labels"
    labels: dict[str, Any] | list[dict[str, Any]] | str


class SleepTask(TaskBase):
    TYPE = f"{CORE}.flow.Sleep"
    duration: Duration


class PauseTask(TaskBase):
    """Pause; the deprecated ``tasks`` run in order once the pause ends (resumed, or its delay over), as
    they did in Kestra, and the Pause ends in their state."""

    TYPE = f"{CORE}.flow.Pause"
    IGNORED = frozenset({"onResume", "behavior"})
    pauseDuration: Duration | None = None
    tasks: list[Task] = Field(default_factory=new_list)

    def children(self) -> list[list[TaskBase]]:
        return [list(self.tasks)]

    @model_validator(mode="before")
    @classmethod
    def _old_delay(cls, data: Any) -> Any:
        if isinstance(data, dict) and "delay" in data:
            data = dict(data)
            data.setdefault("pauseDuration", data.pop("delay"))
        return data


class KvSetTask(TaskBase):
    TYPE = f"{CORE}.kv.Set"
    key: str
    value: Any
    namespace: str | None = None
    overwrite: bool = True
    ttl: Duration | None = None
    kvType: str | None = None


class KvGetTask(TaskBase):
    TYPE = f"{CORE}.kv.Get"
    key: str
    namespace: str | None = None
    errorOnMissing: bool = False


class KvDeleteTask(TaskBase):
    TYPE = f"{CORE}.kv.Delete"
    key: str
    namespace: str | None = None
    errorOnMissing: bool = False


class PurgeCurrentExecutionFilesTask(TaskBase):
    TYPE = f"{CORE}.storage.PurgeCurrentExecutionFiles"


CORE_TASKS: list[type[TaskBase]] = [
    LogTask,
    EchoTask,
    ReturnTask,
    OutputValuesTask,
    FailTask,
    ExitTask,
    LabelsTask,
    SleepTask,
    PauseTask,
    KvSetTask,
    KvGetTask,
    KvDeleteTask,
    PurgeCurrentExecutionFilesTask,
]
