"""The flow model: Kestra's flow syntax as pydantic v2 models (inputs, triggers, concurrency, defaults)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from daemon.language.aliases import TASK_ALIASES, TRIGGER_ALIASES
from daemon.language.common import (
    Condition,
    Duration,
    Id,
    InputId,
    Namespace,
    Retry,
    StateName,
    Strict,
    new_dict,
    new_list,
    normalize_labels,
    tagged_union,
)
from daemon.language.task_base import TaskBase
from daemon.language.tasks import Task, iter_tasks

InputType = Literal[
    "STRING",
    "INT",
    "FLOAT",
    "BOOLEAN",
    "SELECT",
    "MULTISELECT",
    "DATETIME",
    "DATE",
    "TIME",
    "DURATION",
    "JSON",
    "YAML",
    "URI",
    "EMAIL",
    "ARRAY",
    "SECRET",
    "FILE",
]
_INPUT_TYPE_ALIASES = {
    "BOOL": "BOOLEAN",
    "ENUM": "SELECT",
    "INTEGER": "INT",
    "NUMBER": "FLOAT",
    "STR": "STRING",
}


_TEMPORAL = ("DATE", "DATETIME", "TIME")


class Input(Strict):
    """A typed flow input; the seed material's ``name`` and lowercase types are accepted.

    ``type`` is required, as in Kestra; ``after``/``before`` bound DATE, DATETIME and TIME inputs.
    """

    id: InputId
    type: InputType
    description: str | None = None
    displayName: str | None = None
    required: bool = True
    defaults: Any = None
    prefill: Any = None
    validator: str | None = None
    min: Any = None
    max: Any = None
    minLength: int | None = None
    maxLength: int | None = None
    values: list[Any] | str | None = None
    options: list[Any] | None = None
    itemType: InputType | None = None
    allowCustomValue: bool = False
    allowInput: bool | None = None
    dependsOn: Any = None
    expression: str | None = None
    extension: str | None = None
    after: Any = None
    before: Any = None

    @model_validator(mode="after")
    def _kestra_rules(self) -> Input:
        if (self.after is not None or self.before is not None) and self.type not in _TEMPORAL:
            raise ValueError(
                f"'after' and 'before' only apply to DATE, DATETIME and TIME inputs, not {self.type}"
            )
        if self.type == "ARRAY" and self.itemType == "ARRAY":
            raise ValueError("an ARRAY input's itemType cannot be ARRAY (Kestra rejects nested arrays)")
        if self.type == "FILE" and self.defaults is not None and not _file_uri(self.defaults):
            raise ValueError(
                f"a FILE input's default must be a file URI (such as nsfile:///data.csv or kestra:///...), "
                f"got {self.defaults!r}"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _dialect(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "name" in data and "id" not in data:
            data["id"] = data.pop("name")
        for key in ("type", "itemType"):
            if isinstance(data.get(key), str):
                upper = data[key].upper()
                data[key] = _INPUT_TYPE_ALIASES.get(upper, upper)
        if data.get("options") is not None and data.get("values") is None:
            data["values"] = data.pop("options")  # ENUM inputs called their values "options"
        return data


def _file_uri(value: Any) -> bool:
    return isinstance(value, str) and ("://" in value or "{{" in value)


class TriggerBase(Strict):
    """Properties every trigger has."""

    id: Id
    type: str
    description: str | None = None
    disabled: bool = False
    conditions: list[Condition] = Field(default_factory=new_list)
    inputs: dict[str, Any] = Field(default_factory=new_dict)
    labels: dict[str, str] = Field(default_factory=new_dict)
    stopAfter: list[StateName] | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return normalize_labels(value)

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, value: str) -> str:
        return TRIGGER_ALIASES.get(value, value)


class ScheduleTrigger(TriggerBase):
    type: str = "io.kestra.plugin.core.trigger.Schedule"
    cron: str
    withSeconds: bool = False
    timezone: str = "UTC"
    recoverMissedSchedules: Literal["ALL", "LAST", "NONE"] = "ALL"
    lateMaximumDelay: Duration | None = None
    backfill: dict[str, Any] | None = None
    scheduleConditions: list[Condition] = Field(default_factory=new_list)
    # older Kestra's polling interval of the Schedule trigger (documented, default PT1S): ignored, warned
    interval: Duration | None = None


class ScheduleOnDatesTrigger(TriggerBase):
    type: str = "io.kestra.plugin.core.trigger.ScheduleOnDates"
    dates: list[datetime] = Field(min_length=1)
    timezone: str = "UTC"
    recoverMissedSchedules: Literal["ALL", "LAST", "NONE"] = "ALL"


class FlowTrigger(TriggerBase):
    type: str = "io.kestra.plugin.core.trigger.Flow"
    states: list[StateName] | None = None
    preconditions: dict[str, Any] | None = None


class WebhookTrigger(TriggerBase):
    type: str = "io.kestra.plugin.core.trigger.Webhook"
    key: str = Field(min_length=1)
    # Kestra answers the webhook call after the execution ends with these; flowd answers at once (warned)
    wait: bool = False
    returnOutputs: bool = False
    responseContentType: str | None = None


TRIGGER_CLASSES: dict[str, type[TriggerBase]] = {
    "io.kestra.plugin.core.trigger.Schedule": ScheduleTrigger,
    "io.kestra.plugin.core.trigger.ScheduleOnDates": ScheduleOnDatesTrigger,
    "io.kestra.plugin.core.trigger.Flow": FlowTrigger,
    "io.kestra.plugin.core.trigger.Webhook": WebhookTrigger,
}


def trigger_tag(value: Any) -> str | None:
    """The canonical trigger type of a raw trigger (dict) or model; None when unsupported."""
    if isinstance(value, TriggerBase):
        return value.type
    raw = value.get("type") if isinstance(value, dict) else None
    if not isinstance(raw, str):
        return None
    tag = TRIGGER_ALIASES.get(raw, raw)
    return tag if tag in TRIGGER_CLASSES else None


if TYPE_CHECKING:
    Trigger = TriggerBase
else:
    Trigger = tagged_union(
        TRIGGER_CLASSES, trigger_tag, error_type="unsupported_trigger_type", what="trigger"
    )


class FlowOutput(Strict):
    """A flow output, computed when the execution ends."""

    id: Id
    type: InputType = "STRING"
    value: Any
    description: str | None = None
    displayName: str | None = None
    required: bool = True


class Concurrency(Strict):
    """How many executions of this flow may run at once, and what happens to the next one."""

    limit: int = Field(ge=1)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class PluginDefault(Strict):
    """Default property values for every task whose type starts with ``type``."""

    type: str
    forced: bool = False
    values: dict[str, Any] = Field(default_factory=new_dict)


TASK_LIST_KEYS = ("tasks", "then", "else", "errors", "finally", "defaults")
FLOW_IGNORED: frozenset[str] = frozenset({"revision", "tenantId", "deleted", "sla", "checks"})
# top-level keys the model drops and the validator reports on its own terms (see ``dialect.py``):
# blueprint metadata (ignored, warned), an Enterprise property and a removed one (both errors)
FLOW_DROPPED: frozenset[str] = frozenset({"extend", "workerGroup", "listeners"})


class Flow(Strict):
    """One flow file."""

    id: Id
    namespace: Namespace
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=new_dict)
    inputs: list[Input] = Field(default_factory=new_list)
    variables: dict[str, Any] = Field(default_factory=new_dict)
    tasks: list[Task] = Field(min_length=1)
    errors: list[Task] = Field(default_factory=new_list)
    finally_: list[Task] = Field(default_factory=new_list, alias="finally")
    afterExecution: list[Task] = Field(default_factory=new_list)
    triggers: list[Trigger] = Field(default_factory=new_list)
    outputs: list[FlowOutput] = Field(default_factory=new_list)
    concurrency: Concurrency | None = None
    retry: Retry | None = None
    disabled: bool = False
    pluginDefaults: list[PluginDefault] = Field(default_factory=new_list)

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in FLOW_IGNORED and k not in FLOW_DROPPED}
        if "taskDefaults" in data:  # the old name of pluginDefaults
            data["pluginDefaults"] = [*(data.get("pluginDefaults") or []), *(data.pop("taskDefaults") or [])]
        if "labels" in data:
            data["labels"] = normalize_labels(data["labels"])
        defaults = data.get("pluginDefaults")
        if isinstance(defaults, list) and defaults:
            for key in ("tasks", "errors", "finally", "afterExecution"):
                if isinstance(data.get(key), list):
                    data[key] = [apply_plugin_defaults(t, defaults) for t in data[key]]
        return data

    @property
    def uid(self) -> str:
        """``namespace/id``."""
        return f"{self.namespace}/{self.id}"

    @property
    def is_dag(self) -> bool:
        """True when top-level tasks carry ``dependsOn``: the flow then runs as a DAG."""
        return any(t.dependsOn for t in self.tasks)

    def all_tasks(self) -> list[TaskBase]:
        """Every task of the flow, nested ones and error/finally handlers included."""
        return list(iter_tasks([*self.tasks, *self.errors, *self.finally_, *self.afterExecution]))


def apply_plugin_defaults(task: Any, defaults: list[Any]) -> Any:
    """Merge ``pluginDefaults`` into a raw task dict and its nested tasks (forced values win)."""
    if not isinstance(task, dict):
        return task
    raw_type = task.get("type")
    out = dict(task)
    if isinstance(raw_type, str):
        names = {raw_type, TASK_ALIASES.get(raw_type, raw_type)}
        for entry in defaults:
            if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
                continue
            values = entry.get("values") or {}
            if not isinstance(values, dict) or not any(n.startswith(entry["type"]) for n in names):
                continue
            if entry.get("forced"):
                out.update(values)
            else:
                out = {**values, **out}
    for key in TASK_LIST_KEYS:
        if isinstance(out.get(key), list):
            out[key] = [
                {**e, "task": apply_plugin_defaults(e["task"], defaults)}
                if isinstance(e, dict) and "task" in e and key == "tasks"
                else apply_plugin_defaults(e, defaults)
                for e in out[key]
            ]
    if isinstance(out.get("cases"), dict):
        out["cases"] = {
            k: [apply_plugin_defaults(t, defaults) for t in v] if isinstance(v, list) else v
            for k, v in out["cases"].items()
        }
    return out
