"""Kestra's older forms and the properties flowd reports on Kestra's terms, read from the raw YAML data.

- old forms that still work get a warning naming the current form (never an error): input ``name``,
  ``{{ secret.X }}``;
- blueprint catalogue metadata (``extend``) is ignored with a warning;
- ``workerGroup`` is a Kestra Enterprise feature and ``listeners`` were removed from Kestra: both are errors
  that say so (not "unknown property");
- trigger properties and conditions flowd does not evaluate are warned about by name, never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from daemon.errors import Diagnostic, Severity
from daemon.language.aliases import CONDITION_ALIASES, TRIGGER_ALIASES, canonical
from daemon.language.task_base import ENTERPRISE_ONLY
from daemon.language.yamlsafe import Marks, Path, format_path

SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
SCHEDULES = (SCHEDULE, "io.kestra.plugin.core.trigger.ScheduleOnDates")
_TRIGGER_DATE = re.compile(r"^\{\{\s*trigger\.date\s*\}\}$")
WEBHOOK = "io.kestra.plugin.core.trigger.Webhook"
FLOW = "io.kestra.plugin.core.trigger.Flow"
_FLOW_CONDITIONS = frozenset(
    f"io.kestra.plugin.core.condition.{name}"
    for name in ("ExecutionStatus", "ExecutionFlow", "ExecutionNamespace")
)
_OLD_SECRET = re.compile(r"(?<![\w.])secret\.([A-Za-z_][A-Za-z0-9_]*)")
_ENTERPRISE = (
    "'{key}' is a Kestra Enterprise feature (worker groups); flowd, like Kestra's open-source edition, "
    "does not have it: remove it"
)
_WEBHOOK_WAIT = {
    "wait": "flowd answers a webhook call at once with the execution",
    "returnOutputs": "flowd answers a webhook call at once, without outputs",
    "responseContentType": "flowd answers a webhook call with JSON",
}


def dialect_diagnostics(data: dict[str, Any], marks: Marks, file: str) -> list[Diagnostic]:
    """Diagnostics for old forms, Kestra-edition properties and unevaluated schedule properties."""
    out: list[Diagnostic] = []

    def add(
        path: Path, severity: Severity, message: str, *, key: bool = True, hint: str | None = None
    ) -> None:
        line, column = marks.key(path) if key else marks.value(path)
        out.append(Diagnostic(file, line, column, severity, format_path(path), message, hint))

    if "extend" in data:
        add(("extend",), "warning", "'extend' is blueprint catalogue metadata; flowd ignores it")
    if "listeners" in data:
        add(
            ("listeners",),
            "error",
            "'listeners' were removed from Kestra",
            hint="use a Flow trigger in another flow, or this flow's 'errors' / 'afterExecution' tasks",
        )
    for path in _enterprise_paths(data):
        add(path, "error", _ENTERPRISE.format(key=path[-1]))
    inputs = data.get("inputs")
    for index, item in enumerate(inputs if isinstance(inputs, list) else []):
        if isinstance(item, dict) and "name" in item and "id" not in item:
            add(("inputs", index, "name"), "warning", "'name' is the old form of an input's 'id'; use 'id'")
    for path, text in _strings(data, ()):
        for match in _OLD_SECRET.finditer(text):
            add(
                path,
                "warning",
                f"'secret.{match.group(1)}' is the old form; "
                f"the current form is \"secret('{match.group(1)}')\"",
                key=False,
            )
    triggers = data.get("triggers")
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if isinstance(trigger, dict):
            _trigger(trigger, ("triggers", index), add)
    return out


def _trigger(trigger: dict[str, Any], path: Path, add: Any) -> None:
    kind = trigger.get("type")
    kind = canonical(kind, TRIGGER_ALIASES) if isinstance(kind, str) else None
    if kind == WEBHOOK:
        for key, why in _WEBHOOK_WAIT.items():
            if trigger.get(key) not in (None, False):
                add((*path, key), "warning", f"'{key}' is accepted but ignored by flowd: {why}")
    if trigger.get("stopAfter") and kind not in SCHEDULES:
        add(
            (*path, "stopAfter"),
            "warning",
            "'stopAfter' is evaluated on Schedule triggers only: flowd does not disable this trigger",
            hint="disable the trigger (disabled: true) by hand when needed",
        )
    if kind == FLOW:
        _flow_conditions(trigger, path, add)
    if kind not in SCHEDULES:
        return
    if kind == SCHEDULE and trigger.get("interval") is not None:
        add((*path, "interval"), "warning", "'interval' is accepted but ignored by flowd (ticks follow cron)")
    if "backfill" in trigger and trigger["backfill"] is not None:
        add(
            (*path, "backfill"),
            "warning",
            "'backfill' is accepted but ignored by flowd",
            hint="run 'flowd backfill' for a range of past ticks",
        )
    for key in ("conditions", "scheduleConditions"):
        conditions = trigger.get(key)
        for index, condition in enumerate(conditions if isinstance(conditions, list) else []):
            _schedule_condition(condition, (*path, key, index), add)


def _flow_conditions(trigger: dict[str, Any], path: Path, add: Any) -> None:
    from daemon.schedule.conditions import EVALUATED

    conditions = trigger.get("conditions")
    for index, condition in enumerate(conditions if isinstance(conditions, list) else []):
        kind = condition.get("type") if isinstance(condition, dict) else None
        if not isinstance(kind, str):
            continue
        kind = canonical(kind, CONDITION_ALIASES)
        if kind not in _FLOW_CONDITIONS and kind not in EVALUATED:
            add(
                (*path, "conditions", index, "type"),
                "warning",
                f"condition '{kind.rsplit('.', 1)[-1]}' is not evaluated by flowd on a Flow trigger: "
                "this trigger never fires",
                key=False,
            )


def _schedule_condition(condition: Any, path: Path, add: Any) -> None:
    from daemon.schedule.conditions import EVALUATED, condition_problem

    if not isinstance(condition, dict) or not isinstance(condition.get("type"), str):
        return
    kind = canonical(condition["type"], CONDITION_ALIASES)
    if kind not in EVALUATED:
        add(
            (*path, "type"),
            "warning",
            f"condition '{kind.rsplit('.', 1)[-1]}' is not evaluated on a Schedule by flowd: "
            "the schedule fires as if it were absent",
            key=False,
        )
        return
    problem = condition_problem(condition)
    if problem is not None:
        add(path, "error", problem, key=False)
        return
    when = condition.get("date")
    if when is not None and not (isinstance(when, str) and _TRIGGER_DATE.match(when.strip())):
        add(
            (*path, "date"),
            "warning",
            "flowd tests schedule conditions on the tick date ('{{ trigger.date }}'); this 'date' is ignored",
            key=False,
        )
    for index, inner in enumerate(condition.get("conditions") or []):
        _schedule_condition(inner, (*path, "conditions", index), add)


def _enterprise_paths(data: dict[str, Any]) -> Iterator[Path]:
    from daemon.language.structure import raw_tasks

    for key in ENTERPRISE_ONLY:
        if key in data:
            yield (key,)
    for path, task in raw_tasks(data):
        for key in ENTERPRISE_ONLY:
            if key in task:
                yield (*path, key)


def _strings(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(node, str):
        if "secret." in node and "{" in node:
            yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in ("description", "displayName"):
                yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))
