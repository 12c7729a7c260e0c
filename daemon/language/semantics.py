"""Semantic checks on a flow that passed the structure check: pure functions returning findings.

A finding names a data path (the same tuples as the YAML marks); the validator turns it into a diagnostic.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from daemon.errors import Severity
from daemon.language.model import (
    Flow,
    FlowTrigger,
    Input,
    ScheduleOnDatesTrigger,
    ScheduleTrigger,
    TriggerBase,
)
from daemon.language.task_base import TaskBase
from daemon.language.tasks_flow import DagEntry, DagTask, SubflowTask, WorkingDirectoryTask
from daemon.language.yamlsafe import Path

CRON_NICKNAMES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
SYSTEM_LABEL_PREFIX = "system."
# the system label Kestra lets a flow set itself (it makes the flow read-only in Kestra's UI)
USER_SYSTEM_LABELS = frozenset({"system.readOnly"})
# properties holding a condition: an expression flowd cannot parse there is a warning (Kestra reads it late)
_CONDITION_KEYS = frozenset({"condition", "runIf", "expression"})
# a template that guards its references: ``x ?? y``, ``x is defined``, ``x | default(y)`` never error
_GUARDED = re.compile(r"\?\?|\bis\s+(?:not\s+)?defined\b|\|\s*(?:default|d)\s*\(|\bis\s+(?:not\s+)?null\b")
_CRON_HINT = {
    False: "five fields: minute hour day-of-month month day-of-week, or @daily, @hourly, ...",
    True: "with withSeconds, six fields: second minute hour day-of-month month day-of-week",
}
# free text that Kestra shows but never renders
_NOT_RENDERED = frozenset({"description", "displayName"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One semantic problem at a data path; ``related`` points at the other half of a pair (duplicates).

    ``beyond_kestra`` marks flowd's own checks (Kestra deploys such a flow): a warning, or an error under
    strict validation (``flowd validate --strict``, ``FLOWD_STRICT``)."""

    path: Path
    message: str
    severity: Severity = "error"
    hint: str | None = None
    at_key: bool = False
    related: Path | None = None
    beyond_kestra: bool = False


def check_flow(flow: Flow, data: dict[str, Any]) -> list[Finding]:
    """Every semantic problem of ``flow``; ``data`` is the YAML it came from (for expressions)."""
    tasks = list(walk_tasks(flow))
    findings: list[Finding] = []
    findings += _unique_ids(tasks, "task")
    findings += _unique_ids([(("triggers", i), t) for i, t in enumerate(flow.triggers)], "trigger")
    findings += _unique_ids([(("inputs", i), t) for i, t in enumerate(flow.inputs)], "input")
    findings += _depends_on(flow, tasks)
    findings += _triggers(flow)
    findings += _inputs(flow.inputs)
    findings += _labels(flow, tasks)
    findings += _working_directories(tasks)
    # a legacy Flow task's ``outputs`` map the child flow's outputs: not this flow's tasks
    foreign = [(*p, "outputs") for p, t in tasks if isinstance(t, SubflowTask)]
    findings += _expressions(data, {i.id for i in flow.inputs}, {t.id for _, t in tasks}, foreign)
    return findings


def walk_tasks(flow: Flow) -> Iterator[tuple[Path, TaskBase]]:
    """Every task of ``flow`` with its data path, nested ones (Dag entries, cases, errors, finally) too."""
    for key in ("tasks", "errors", "finally", "afterExecution"):
        field = "finally_" if key == "finally" else key
        yield from _walk(getattr(flow, field), (key,))


def _walk(tasks: list[Any], path: Path) -> Iterator[tuple[Path, TaskBase]]:
    for index, task in enumerate(tasks):
        task_path = (*path, index)
        yield task_path, task
        if task.FLOWABLE or task.children():  # a Pause's deprecated ``tasks`` too
            yield from _nested(task, task_path)


def _nested(task: BaseModel, path: Path) -> Iterator[tuple[Path, TaskBase]]:
    for name, info in type(task).model_fields.items():
        value = getattr(task, name)
        key = info.alias or name
        if isinstance(value, list) and value and isinstance(value[0], TaskBase):
            yield from _walk(value, (*path, key))
        elif isinstance(value, list) and value and isinstance(value[0], DagEntry):
            for index, entry in enumerate(value):
                entry_path = (*path, key, index, "task")
                yield entry_path, entry.task
                if entry.task.FLOWABLE:
                    yield from _nested(entry.task, entry_path)
        elif isinstance(value, dict) and any(
            isinstance(v, list) and v and isinstance(v[0], TaskBase) for v in value.values()
        ):
            for case, branch in value.items():
                yield from _walk(branch, (*path, key, case))


def _unique_ids(items: list[tuple[Path, Any]], kind: str) -> list[Finding]:
    first: dict[str, Path] = {}
    out: list[Finding] = []
    for path, item in items:
        if item.id in first:
            out.append(
                Finding((*path, "id"), f"duplicate {kind} id '{item.id}'", related=(*first[item.id], "id"))
            )
        else:
            first[item.id] = path
    return out


def _depends_on(flow: Flow, tasks: list[tuple[Path, TaskBase]]) -> list[Finding]:
    out: list[Finding] = []
    top: list[tuple[Path, str, list[str]]] = [
        (("tasks", i), t.id, t.dependsOn) for i, t in enumerate(cast(list[TaskBase], flow.tasks))
    ]
    out += _graph(top, "dependsOn")
    for path, task in tasks:
        if len(path) > 2 and task.dependsOn:
            out.append(
                Finding(
                    (*path, "dependsOn"),
                    "dependsOn is only used on top-level tasks; here it is ignored",
                    "warning",
                )
            )
        if isinstance(task, DagTask):
            entries: list[tuple[Path, str, list[str]]] = [
                ((*path, "tasks", i), cast(TaskBase, e.task).id, e.dependsOn)
                for i, e in enumerate(task.tasks)
            ]
            out += _graph(entries, "dependsOn", entry_level=True)
    return out


def _graph(nodes: list[tuple[Path, str, list[str]]], key: str, *, entry_level: bool = False) -> list[Finding]:
    """Unknown dependencies and cycles among ``(path, id, dependsOn)`` nodes."""
    out: list[Finding] = []
    ids = {node_id: path for path, node_id, _ in nodes}
    edges: dict[str, list[str]] = {}
    for path, node_id, deps in nodes:
        for index, dep in enumerate(deps):
            if dep not in ids:
                close = difflib.get_close_matches(dep, list(ids), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else None
                out.append(
                    Finding(
                        (*path, key, index), f"dependsOn names '{dep}', which is not a task here", hint=hint
                    )
                )
        edges[node_id] = [d for d in deps if d in ids]
    cycle = _find_cycle(edges)
    if cycle:
        path = ids[cycle[0]]
        out.append(Finding((*path, key), f"dependsOn forms a cycle: {' -> '.join(cycle)}"))
    return out


def _find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    # iterative depth-first search: a chain of thousands of tasks must not hit Python's recursion limit
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for root in edges:
        if root in state:
            continue
        state[root] = 1
        stack: list[str] = [root]
        pending: list[Iterator[str]] = [iter(edges.get(root, []))]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                state[stack.pop()] = 2
                pending.pop()
            elif state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            elif dep not in state:
                state[dep] = 1
                stack.append(dep)
                pending.append(iter(edges.get(dep, [])))
    return None


def _triggers(flow: Flow) -> list[Finding]:
    out: list[Finding] = []
    for index, trigger in enumerate(cast(list[TriggerBase], flow.triggers)):
        path: Path = ("triggers", index)
        if isinstance(trigger, ScheduleTrigger):
            problem = cron_problem(trigger.cron, with_seconds=trigger.withSeconds)
            if problem:
                out.append(Finding((*path, "cron"), problem, hint=_CRON_HINT[trigger.withSeconds]))
        if isinstance(trigger, ScheduleTrigger | ScheduleOnDatesTrigger) and not valid_timezone(
            trigger.timezone
        ):
            out.append(
                Finding(
                    (*path, "timezone"),
                    f"unknown timezone '{trigger.timezone}'",
                    hint="use an IANA name such as Europe/Paris or UTC",
                )
            )
        out += [
            Finding((*path, "labels", key), f"label '{key}' uses the reserved 'system.' prefix", at_key=True)
            for key in trigger.labels
            if _reserved(key)
        ]
        if isinstance(trigger, FlowTrigger) and isinstance(trigger.preconditions, dict):
            out += _precondition_ids(trigger.preconditions, (*path, "preconditions"))
    return out


def _reserved(label: str) -> bool:
    return label.startswith(SYSTEM_LABEL_PREFIX) and label not in USER_SYSTEM_LABELS


def _precondition_ids(node: Any, path: Path) -> list[Finding]:
    """Duplicate ids among a Flow trigger's preconditions (its ``where`` filters, at any depth)."""
    out: list[Finding] = []
    for key, value in node.items():
        if not isinstance(value, list):
            continue
        first: dict[str, int] = {}
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            ident = item.get("id")
            if isinstance(ident, str):
                if ident in first:
                    out.append(
                        Finding(
                            (*path, key, index, "id"),
                            f"duplicate preconditions id '{ident}'",
                            related=(*path, key, first[ident], "id"),
                        )
                    )
                else:
                    first[ident] = index
            out += _precondition_ids(item, (*path, key, index))
    return out


def _working_directories(tasks: list[tuple[Path, TaskBase]]) -> list[Finding]:
    """Kestra: a WorkingDirectory runs its tasks in one folder on one worker, so they must be runnable."""
    return [
        Finding(
            (*path, "tasks", index, "type"),
            f"a WorkingDirectory only runs runnable tasks; '{child.id}' is a flowable task ({child.type})",
        )
        for path, task in tasks
        if isinstance(task, WorkingDirectoryTask)
        for index, child in enumerate(task.tasks)
        if child.FLOWABLE
    ]


@functools.lru_cache(maxsize=1024)
def cron_problem(expression: str, *, with_seconds: bool = False) -> str | None:
    """Why ``expression`` is not a valid cron (5 fields, 6 with seconds first, a nickname); None if valid."""
    from croniter import croniter

    text = expression.strip()
    if text.startswith("@"):
        return None if text.lower() in CRON_NICKNAMES else f"unknown cron nickname '{text}'"
    fields = len(text.split())
    wanted = 6 if with_seconds else 5
    if fields != wanted:
        extra = " (withSeconds is set)" if with_seconds else ""
        return f"cron '{expression}' has {fields} fields, expected {wanted}{extra}"
    if not croniter.is_valid(text, second_at_beginning=with_seconds):
        return f"invalid cron expression '{expression}'"
    return None


@functools.lru_cache(maxsize=512)
def valid_timezone(name: str) -> bool:
    """True when ``name`` is a timezone the system's zoneinfo knows."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _inputs(inputs: list[Input]) -> list[Finding]:
    out: list[Finding] = []
    for index, item in enumerate(inputs):
        path: Path = ("inputs", index)
        if item.validator is not None:
            try:
                re.compile(item.validator)
            except re.error as exc:
                out.append(
                    Finding((*path, "validator"), f"validator is not a valid regular expression: {exc}")
                )
        if item.defaults is not None and not _is_template(item.defaults):
            problem = default_problem(item)
            if problem:
                out.append(Finding((*path, "defaults"), problem))
    return out


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _parses(parse: Callable[[str], Any], value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _duration(value: str) -> Any:
    from pydantic import TypeAdapter

    from daemon.language.common import Duration

    try:
        return TypeAdapter(Duration).validate_python(value)
    except Exception as exc:
        raise ValueError(str(exc)) from None


_DEFAULT_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "STRING": (lambda v: not isinstance(v, dict | list), "a string"),
    "INT": (lambda v: (isinstance(v, int) and not isinstance(v, bool)) or _parses(int, v), "an integer"),
    "FLOAT": (
        lambda v: (isinstance(v, int | float) and not isinstance(v, bool)) or _parses(float, v),
        "a number",
    ),
    "BOOLEAN": (lambda v: isinstance(v, bool) or str(v).lower() in ("true", "false"), "true or false"),
    "DATETIME": (lambda v: _parses(datetime.fromisoformat, v), "an ISO-8601 date-time"),
    "DATE": (lambda v: _parses(date.fromisoformat, v), "an ISO-8601 date"),
    "TIME": (lambda v: _parses(time.fromisoformat, v), "an ISO-8601 time"),
    "DURATION": (lambda v: _parses(_duration, v), "an ISO-8601 duration such as PT5M"),
    "JSON": (lambda v: isinstance(v, dict | list) or _parses(json.loads, v), "JSON"),
    "ARRAY": (lambda v: isinstance(v, list) or _parses(json.loads, v), "a list"),
    "URI": (lambda v: isinstance(v, str) and ":" in v, "a URI"),
    "EMAIL": (lambda v: isinstance(v, str) and "@" in v, "an email address"),
}


def default_problem(item: Input) -> str | None:
    """Why an input's ``defaults`` does not fit its type (or its SELECT values); None when it fits."""
    value = item.defaults
    if item.type in ("SELECT", "MULTISELECT") and isinstance(item.values, list):
        chosen = value if isinstance(value, list) and item.type == "MULTISELECT" else [value]
        missing = [v for v in chosen if v not in item.values]
        if missing and not item.allowCustomValue:
            return f"default {missing[0]!r} is not one of the values {item.values}"
        return None
    check = _DEFAULT_CHECKS.get(item.type)
    if check and not check[0](value):
        return f"default {value!r} is not {check[1]} (input type {item.type})"
    return None


def _labels(flow: Flow, tasks: list[tuple[Path, TaskBase]]) -> list[Finding]:
    out = [
        Finding(("labels", key), f"label '{key}' uses the reserved 'system.' prefix", at_key=True)
        for key in flow.labels
        if _reserved(key)
    ]
    for path, task in tasks:
        if isinstance(task, SubflowTask):
            out += [
                Finding(
                    (*path, "labels", key), f"label '{key}' uses the reserved 'system.' prefix", at_key=True
                )
                for key in task.labels
                if _reserved(key)
            ]
            if task.namespace == flow.namespace and task.flowId == flow.id:
                out.append(
                    Finding(
                        (*path, "flowId"), f"flow {flow.uid} calls itself as a subflow (recursive subflow)"
                    )
                )
    return out


# ``{{ a.b.c }}`` and nothing else: valid, and its references are plain to see (no parse needed)
_SIMPLE = re.compile(r"\{\{-?\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*-?\}\}")


@functools.lru_cache(maxsize=4096)
def analyse_template(text: str) -> tuple[str | None, frozenset[tuple[str, ...]]]:
    """(syntax error message or None, variable paths read) for one template string; cached per text."""
    if "{%" not in text and "{#" not in text:
        rest = _SIMPLE.sub("", text)
        if "{{" not in rest and "}}" not in rest:
            return None, frozenset(tuple(m.group(1).split(".")) for m in _SIMPLE.finditer(text))
    from daemon.expressions import ExpressionError, check_syntax, references

    error = check_syntax(text)
    if error is not None:
        return error.message, frozenset()
    try:
        return None, frozenset(references(text))
    except ExpressionError as exc:
        return exc.message, frozenset()


def _expressions(
    data: dict[str, Any], inputs: set[str], task_ids: set[str], foreign: list[Path]
) -> list[Finding]:
    """Syntax errors (an error, but a warning in a condition, where Kestra only finds out at run time);
    references to undeclared inputs and unknown tasks (flowd's own check: warnings), unless guarded."""
    out: list[Finding] = []
    # a Flow trigger's inputs read the triggering execution's ``outputs``, not this flow's tasks
    foreign = [*foreign, ("triggers",)]
    for path, text in _templates(data, ()):
        error, refs = analyse_template(text)
        if error is not None:
            in_condition = any(isinstance(p, str) and p in _CONDITION_KEYS for p in path)
            severity: Severity = "warning" if in_condition else "error"
            out.append(Finding(path, f"invalid expression: {error}", severity, beyond_kestra=in_condition))
            continue
        if _GUARDED.search(text):
            continue
        for ref in sorted(refs):
            if len(ref) < 2:
                continue
            if ref[0] == "inputs" and not _declared(ref, inputs):
                out.append(
                    Finding(
                        path,
                        f"'inputs.{ref[1]}' is not a declared input",
                        "warning",
                        hint=_close(ref[1], inputs),
                        beyond_kestra=True,
                    )
                )
            elif (
                ref[0] == "outputs"
                and ref[1] not in task_ids
                and not any(path[: len(prefix)] == prefix for prefix in foreign)
            ):
                out.append(
                    Finding(
                        path,
                        f"'outputs.{ref[1]}' names no task of this flow",
                        "warning",
                        hint=_close(ref[1], task_ids),
                        beyond_kestra=True,
                    )
                )
    return out


def _declared(ref: tuple[str, ...], inputs: set[str]) -> bool:
    # an input id with dots (``nested.string``) reads as ``inputs.nested.string``
    return any(".".join(ref[1:end]) in inputs for end in range(2, len(ref) + 1))


def _close(name: str, known: set[str]) -> str | None:
    found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"did you mean '{found[0]}'?" if found else None


def _templates(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(node, str):
        if "{{" in node or "{%" in node:
            yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in _NOT_RENDERED:
                yield from _templates(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _templates(value, (*path, index))
