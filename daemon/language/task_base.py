"""Properties every task has, and the properties Kestra defines that flowd accepts but ignores."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daemon.language.aliases import RUNNER_ALIASES
from daemon.language.common import Condition, Duration, Id, LogLevel, Retry, Strict, new_list

# Kestra properties valid on any task that flowd does not implement: accepted, with a warning.
COMMON_IGNORED: frozenset[str] = frozenset({"logToFile", "taskCache", "version", "sla", "assets"})
# Kestra Enterprise properties: the model drops them, the validator rejects them with a message saying so
ENTERPRISE_ONLY: frozenset[str] = frozenset({"workerGroup"})


class TaskRunner(BaseModel):
    """``taskRunner``: where a script task runs (the process runner by default, or Docker)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    image: str | None = None
    pullPolicy: str | None = None
    cpu: dict[str, Any] | float | None = None
    memory: dict[str, Any] | str | None = None
    user: str | None = None
    volumes: list[str] = Field(default_factory=new_list)
    networkMode: str | None = None
    credentials: dict[str, Any] | None = None

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, value: str) -> str:
        return RUNNER_ALIASES.get(value, value)


class TaskBase(Strict):
    """Common task properties (Kestra's names). ``type`` always holds the canonical type name."""

    TYPE: ClassVar[str] = ""
    # Kestra properties of this type that flowd accepts and ignores (warned about by the validator)
    IGNORED: ClassVar[frozenset[str]] = frozenset()
    FLOWABLE: ClassVar[bool] = False

    id: Id
    type: str
    description: str | None = None
    timeout: Duration | None = None
    retry: Retry | None = None
    runIf: str | bool | None = None
    allowFailure: bool = False
    allowWarning: bool = False
    disabled: bool = False
    logLevel: LogLevel | None = None
    # the seed material's dialect: a top-level task may carry dependsOn (the flow then runs as a DAG),
    # task-level conditions, and ``concurrent``
    dependsOn: list[str] = Field(default_factory=new_list)
    conditions: list[Condition] = Field(default_factory=new_list)
    concurrent: int | None = None
    taskRunner: TaskRunner | None = None
    containerImage: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_ignored(cls, data: Any) -> Any:
        if isinstance(data, dict):
            ignored = COMMON_IGNORED | ENTERPRISE_ONLY | cls.IGNORED
            if any(key in ignored for key in data):
                data = {k: v for k, v in data.items() if k not in ignored}
        return data

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, value: str) -> str:
        return cls.TYPE or value

    def children(self) -> list[list[TaskBase]]:
        """The task lists nested in this task (flowables override); errors/finally included."""
        return []
