"""Flowable tasks: they hold other tasks and decide which run (If, Switch, ForEach, Parallel, Dag, ...).

``Task`` below is a forward reference to the discriminated union built in ``tasks.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, model_validator

from daemon.language.aliases import CORE
from daemon.language.common import Strict, new_dict, new_list, normalize_labels
from daemon.language.namespace_files import NamespaceFiles
from daemon.language.task_base import TaskBase

if TYPE_CHECKING:
    from daemon.language.tasks import Task


class Flowable(TaskBase):
    """A task that runs other tasks; it may carry its own ``errors`` and ``finally`` blocks."""

    FLOWABLE = True
    errors: list[Task] = Field(default_factory=new_list)
    finally_: list[Task] = Field(default_factory=new_list, alias="finally")

    def body(self) -> list[list[TaskBase]]:
        """The task lists that make up this flowable's main branches."""
        return []

    def children(self) -> list[list[TaskBase]]:
        return [*self.body(), list(self.errors), list(self.finally_)]


class IfTask(Flowable):
    TYPE = f"{CORE}.flow.If"
    condition: str | bool
    then: list[Task] = Field(min_length=1)
    else_: list[Task] = Field(default_factory=new_list, alias="else")

    def body(self) -> list[list[TaskBase]]:
        return [list(self.then), list(self.else_)]


class SwitchTask(Flowable):
    """Kestra rejects a Switch with no branch, or with an empty case; ``defaults: null`` is none."""

    TYPE = f"{CORE}.flow.Switch"
    value: str | int | bool
    cases: dict[str, list[Task]] = Field(default_factory=new_dict)
    defaults: list[Task] = Field(default_factory=new_list)

    @model_validator(mode="before")
    @classmethod
    def _null_branches(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(data.get(k, 0) is None for k in ("defaults", "cases")):
            data = {k: v for k, v in data.items() if not (k in ("defaults", "cases") and v is None)}
        return data

    @model_validator(mode="after")
    def _kestra_rules(self) -> SwitchTask:
        if not self.cases and not self.defaults:
            raise ValueError("a Switch needs at least one case or defaults")
        empty = next((key for key, branch in self.cases.items() if not branch), None)
        if empty is not None:
            raise ValueError(f"Switch case '{empty}' has no tasks")
        return self

    def body(self) -> list[list[TaskBase]]:
        return [*(list(v) for v in self.cases.values()), list(self.defaults)]


class ForEachTask(Flowable):
    """ForEach; the legacy EachSequential/EachParallel (``value``, ``concurrent``) are normalised into it."""

    TYPE = f"{CORE}.flow.ForEach"
    values: list[Any] | str
    concurrencyLimit: int = Field(default=1, ge=0)
    tasks: list[Task] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _legacy_each(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = str(data.get("type", ""))
        if kind.endswith((".EachSequential", ".EachParallel")):
            data = dict(data)
            if "value" in data:
                data.setdefault("values", data.pop("value"))
            if kind.endswith(".EachSequential"):
                data.setdefault("concurrencyLimit", 1)
            else:
                data.setdefault("concurrencyLimit", data.pop("concurrent", None) or 0)
        return data

    def body(self) -> list[list[TaskBase]]:
        return [list(self.tasks)]


class ParallelTask(Flowable):
    TYPE = f"{CORE}.flow.Parallel"
    tasks: list[Task] = Field(min_length=1)

    def body(self) -> list[list[TaskBase]]:
        return [list(self.tasks)]


class SequentialTask(Flowable):
    TYPE = f"{CORE}.flow.Sequential"
    tasks: list[Task] = Field(min_length=1)

    def body(self) -> list[list[TaskBase]]:
        return [list(self.tasks)]


class AllowFailureTask(Flowable):
    TYPE = f"{CORE}.flow.AllowFailure"
    tasks: list[Task] = Field(min_length=1)

    def body(self) -> list[list[TaskBase]]:
        return [list(self.tasks)]


class WorkingDirectoryTask(Flowable):
    TYPE = f"{CORE}.flow.WorkingDirectory"
    IGNORED = frozenset({"cache"})
    tasks: list[Task] = Field(min_length=1)
    namespaceFiles: NamespaceFiles | None = None
    inputFiles: dict[str, str] | str | None = None
    outputFiles: list[str] = Field(default_factory=new_list)

    def body(self) -> list[list[TaskBase]]:
        return [list(self.tasks)]


class DagEntry(Strict):
    """One node of a Dag: a task and the ids it waits for."""

    task: Task
    dependsOn: list[str] = Field(default_factory=new_list)


class DagTask(Flowable):
    TYPE = f"{CORE}.flow.Dag"
    tasks: list[DagEntry] = Field(min_length=1)

    def body(self) -> list[list[TaskBase]]:
        return [[entry.task for entry in self.tasks]]


class SubflowTask(TaskBase):
    """Runs another flow as a child execution of its own."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    TYPE = f"{CORE}.flow.Subflow"
    IGNORED = frozenset({"restartBehavior", "scheduleDate", "scheduleOnDate"})
    namespace: str
    flowId: str
    inputs: dict[str, Any] = Field(default_factory=new_dict)
    labels: dict[str, str] = Field(default_factory=new_dict)
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool = False
    revision: int | None = None
    # the legacy Flow task mapped child outputs explicitly
    outputs: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        if isinstance(data, dict) and "labels" in data:
            data = dict(data)
            data["labels"] = normalize_labels(data["labels"])
        return data


FLOW_TASKS: list[type[TaskBase]] = [
    IfTask,
    SwitchTask,
    ForEachTask,
    ParallelTask,
    SequentialTask,
    AllowFailureTask,
    WorkingDirectoryTask,
    DagTask,
    SubflowTask,
]
