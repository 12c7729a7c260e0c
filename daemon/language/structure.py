"""Structure diagnostics: pydantic's errors turned into readable messages at the right line.

Pydantic reports locations as ``loc`` tuples that include union tags (``("tasks", 0,
"io.kestra.plugin.core.log.Log", "retyr")``); they are mapped back onto the YAML data to find the mark. The
owning model of an unknown property is found by walking the model's types along the same ``loc``, which gives
the property names to suggest ("did you mean 'retry'?").
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from typing_extensions import TypeAliasType

from daemon.errors import Diagnostic
from daemon.language.aliases import CONDITION_ALIASES, TASK_ALIASES, TRIGGER_ALIASES, legacy_warning
from daemon.language.common import ID_PATTERN, INPUT_ID_PATTERN, NAMESPACE_PATTERN
from daemon.language.fields import field_annotation
from daemon.language.model import FLOW_IGNORED, TRIGGER_CLASSES, Flow, TriggerBase
from daemon.language.task_base import TaskBase
from daemon.language.tasks import SUPPORTED_TASK_TYPES, ignored_properties
from daemon.language.tasks_core import PauseTask
from daemon.language.yamlsafe import Marks, Path, format_path

COMPATIBILITY_DOC = "docs/kestra-compatibility.md"
# where a user (pip-installed, without the docs) looks supported types up
PLUGINS_COMMAND = "flowd plugins"

_EXPECTED = {
    "string_type": "a string",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "time_delta_type": "an ISO-8601 duration such as PT30S, PT5M or P1D",
    "time_delta_parsing": "an ISO-8601 duration such as PT30S, PT5M or P1D",
    "datetime_type": "a date-time such as 2024-05-01T08:00:00Z",
    "datetime_parsing": "a date-time such as 2024-05-01T08:00:00Z",
    "datetime_from_date_parsing": "a date-time such as 2024-05-01T08:00:00Z",
    "none_required": "null",
}
_OWNER_NAMES = {"Flow": "the flow", "Input": "an input", "Retry": "retry", "Concurrency": "concurrency"}
# keys the model renames while reading the seed dialect: where to look in the YAML for a mark
_RENAMED = {"id": "name", "maxAttempt": "maxAttempts", "interval": "delay", "delayFactor": "multiplier"}


def structure_diagnostics(
    error: ValidationError, data: dict[str, Any], marks: Marks, file: str
) -> list[Diagnostic]:
    """One diagnostic per problem pydantic found (type errors on one value through a union are merged)."""
    grouped: dict[Path, list[ErrorDetails]] = {}
    others: list[Diagnostic] = []
    for detail in error.errors(include_url=False):
        path, complete = data_path(detail["loc"], data)
        if complete and (detail["type"] in _EXPECTED or detail["type"] == "literal_error"):
            grouped.setdefault(path, []).append(detail)
            continue
        others.append(_convert(detail, path, complete, data, marks, file))
    for path, details in grouped.items():
        others.append(_type_mismatch(details, path, marks, file))
    return others


def data_path(loc: tuple[int | str, ...], data: Any) -> tuple[Path, bool]:
    """The part of ``loc`` that exists in ``data`` (union tags dropped) and whether all of it was found."""
    path: list[str | int] = []
    node = data
    complete = True
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str):
            key = part if part in node else _RENAMED.get(part)
            if key is not None and key in node:
                node = node[key]
                path.append(key)
                continue
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
            continue
        if not _is_tag(part):
            complete = False
    return tuple(path), complete


def _is_tag(part: int | str) -> bool:
    # union tags ("io.kestra.plugin.core.log.Log") and member names ("str", "list[str]", "DagEntry")
    return isinstance(part, str) and (
        "." in part or "[" in part or part in {"str", "bool", "int", "float"} or part[:1].isupper()
    )


def _convert(
    detail: ErrorDetails, path: Path, complete: bool, data: dict[str, Any], marks: Marks, file: str
) -> Diagnostic:
    kind, loc, value = detail["type"], detail["loc"], detail["input"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    hint: str | None = None
    line, column = marks.value(path)
    field = format_path(path)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        owner = owner_model(loc[:-1])
        message = f"unknown property '{key}' for {_owner_label(owner, loc)}"
        hint = _did_you_mean(key, _property_names(owner, loc))
        if hint is None and owner is not None and issubclass(owner, TaskBase) and owner.TYPE:
            hint = f"'{PLUGINS_COMMAND} {owner.TYPE}' lists its properties"
        if key not in _value_at(data, path[:-1] if path and path[-1] == key else path):
            hint = "it comes from pluginDefaults"
        elif complete:
            line, column = marks.key(path)
    elif kind == "missing":
        key = str(loc[-1])
        field = format_path((*path, key))
        message = f"missing required property '{key}' for {_owner_label(owner_model(loc[:-1]), loc)}"
    elif kind in ("unsupported_task_type", "unsupported_trigger_type"):
        is_task = kind == "unsupported_task_type"
        known = SUPPORTED_TASK_TYPES if is_task else _SUPPORTED_TRIGGER_TYPES
        message, hint, where = _unsupported(value, known, "task" if is_task else "trigger")
        line, column = marks.value((*path, *where))
        field = format_path((*path, *where))
    elif kind == "string_pattern_mismatch":
        message = _pattern_message(str(value), str(ctx.get("pattern")))
    elif kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        message = f"must have {word} {bound} item{'s' if bound != 1 else ''}"
    elif kind in ("string_too_short", "string_too_long"):
        message = f"{detail['msg'].replace('String', 'must be a string').replace('should have', 'with')}"
    elif kind in ("value_error", "assertion_error"):
        message = detail["msg"].split(", ", 1)[-1]
    else:
        message = detail["msg"][0].lower() + detail["msg"][1:] + f", got {_describe(value)}"
    return Diagnostic(file, line, column, "error", field, message, hint)


def _type_mismatch(details: list[ErrorDetails], path: Path, marks: Marks, file: str) -> Diagnostic:
    expected: list[str] = []
    for detail in details:
        if detail["type"] == "literal_error":
            text = f"one of {detail.get('ctx', {}).get('expected', '')}"
        else:
            text = _EXPECTED[detail["type"]]
        if text not in expected:
            expected.append(text)
    line, column = marks.value(path)
    message = f"expected {' or '.join(expected)}, got {_describe(details[0]['input'])}"
    return Diagnostic(file, line, column, "error", format_path(path), message)


def _unsupported(value: Any, known: frozenset[str], kind: str) -> tuple[str, str | None, Path]:
    raw = value.get("type") if isinstance(value, dict) else None
    if raw is None:
        return f"a {kind} needs a 'type'", None, ()
    if not isinstance(raw, str):
        return f"a {kind} 'type' must be a string, got {_describe(raw)}", None, ("type",)
    hint = f"'{PLUGINS_COMMAND}' lists the {kind} types flowd supports"
    family = frozenset(name for name in known if _same_family(raw, name))
    suggestion = _did_you_mean(raw, family) or _did_you_mean_by_name(raw, family)
    if suggestion:
        hint = f"{suggestion} {hint[0].upper()}{hint[1:]}"
    current = TASK_ALIASES.get(raw) if kind == "task" else TRIGGER_ALIASES.get(raw)
    renamed = f" (now named '{current}')" if current and current != raw else ""
    return f"unsupported {kind} type '{raw}'{renamed}", hint, ("type",)


_SUPPORTED_TRIGGER_TYPES = frozenset(TRIGGER_CLASSES) | frozenset(
    name for name, current in TRIGGER_ALIASES.items() if current in TRIGGER_CLASSES
)


def _same_family(raw: str, candidate: str) -> bool:
    """Whether a suggestion fits: the same plugin package (or one holding the other, ``core`` and
    ``core.log``), or a near-identical full name (a typo in the package)."""
    if "." not in raw:
        return True
    mine, theirs = raw.rpartition(".")[0], candidate.rpartition(".")[0]
    if mine == theirs or theirs.startswith(mine + ".") or mine.startswith(theirs + "."):
        return mine.count(".") >= 3 or theirs == mine  # not just ``io.kestra.plugin``
    return difflib.SequenceMatcher(None, raw, candidate).ratio() >= 0.92


def _did_you_mean(key: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.75)
    return f"did you mean '{found[0]}'?" if found else None


def _did_you_mean_by_name(raw: str, known: frozenset[str]) -> str | None:
    # "io.kestra.plugin.core.Log" or "Log": compare the last segment
    by_name: dict[str, str] = {}
    for name in sorted(known, key=lambda n: (n not in TASK_ALIASES.values(), n)):
        by_name.setdefault(name.rsplit(".", 1)[-1].lower(), name)
    last = raw.rsplit(".", 1)[-1].lower()
    found = difflib.get_close_matches(last, list(by_name), n=1, cutoff=0.8)
    return f"did you mean '{by_name[found[0]]}'?" if found else None


def _pattern_message(value: str, pattern: str) -> str:
    if pattern == ID_PATTERN:
        return (
            f"'{value}' is not a valid id: use letters, digits, '_' and '-', starting with a letter or digit"
        )
    if pattern == INPUT_ID_PATTERN:
        return (
            f"'{value}' is not a valid input id: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit"
        )
    if pattern == NAMESPACE_PATTERN:
        return f"'{value}' is not a valid namespace: use lowercase letters, digits, '.', '_' and '-'"
    return f"'{value}' does not match the pattern {pattern}"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _value_at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def owner_model(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the property at the end of ``loc`` (walking Flow's types)."""
    current: Any = Flow
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    current = _unwrap(current)
    if get_origin(current) in (Union, types.UnionType):  # ``Retry | None``
        members = [_unwrap(m) for m in get_args(current) if m is not type(None)]
        current = members[0] if len(members) == 1 else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        if isinstance(tp, TypeAliasType):  # the task and trigger unions are named aliases
            tp = tp.__value__
        elif get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        else:
            return tp


def _step(tp: Any, part: int | str) -> Any:
    tp = _unwrap(tp)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        for member in members:  # a discriminated union: ``part`` is the tag
            tag = next((m for m in getattr(member, "__metadata__", ()) if hasattr(m, "tag")), None)
            if tag is not None and tag.tag == part:
                return _unwrap(member)
        for member in members:
            inner = _unwrap(member)
            if getattr(inner, "__name__", None) == part:
                return inner
        for member in members:
            found = _step(member, part)
            if found is not None:
                return found
        return None
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return field_annotation(tp, name)
        return None
    if origin is list and isinstance(part, int):
        return get_args(tp)[0]
    if origin is dict and isinstance(part, str):
        return get_args(tp)[1]
    return None


def _owner_label(owner: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    if owner is None:
        return "this mapping"
    if issubclass(owner, TaskBase) and owner.TYPE:
        return owner.TYPE
    if issubclass(owner, TriggerBase):
        tag = next((p for p in reversed(loc) if isinstance(p, str) and p in TRIGGER_CLASSES), None)
        return tag or "a trigger"
    return _OWNER_NAMES.get(owner.__name__, owner.__name__)


def _property_names(owner: type[BaseModel] | None, loc: tuple[int | str, ...]) -> list[str]:
    if owner is None:
        return []
    names = [info.alias or name for name, info in owner.model_fields.items()]
    if issubclass(owner, TaskBase):
        names += ignored_properties(owner.TYPE)
    if owner is Flow:
        names += [*FLOW_IGNORED, "taskDefaults"]
    return names


_TASK_LIST_KEYS = ("tasks", "errors", "finally", "afterExecution", "then", "else", "defaults")


def raw_tasks(node: dict[str, Any], path: Path = ()) -> list[tuple[Path, dict[str, Any]]]:
    """Every task mapping in the YAML data with its path (nested ones, Dag entries and Switch cases too)."""
    found: list[tuple[Path, dict[str, Any]]] = []
    lists: list[tuple[Path, Any]] = [((*path, key), node.get(key)) for key in _TASK_LIST_KEYS]
    cases = node.get("cases")
    if path and isinstance(cases, dict):
        lists += [((*path, "cases", key), value) for key, value in cases.items()]
    for list_path, items in lists:
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            item_path: Path = (*list_path, index)
            if "type" not in item and isinstance(item.get("task"), dict):  # a Dag entry
                item, item_path = item["task"], (*item_path, "task")
            found.append((item_path, item))
            found.extend(raw_tasks(item, item_path))
    return found


def dialect_warnings(data: dict[str, Any], marks: Marks, file: str) -> list[Diagnostic]:
    """Warnings for what works but is not current Kestra: legacy type names and ignored properties."""
    out: list[Diagnostic] = []

    def warn(path: Path, message: str, *, key: bool = False, hint: str | None = None) -> None:
        line, column = marks.key(path) if key else marks.value(path)
        out.append(Diagnostic(file, line, column, "warning", format_path(path), message, hint))

    def conditions(owner: dict[str, Any], path: Path) -> None:
        for index, condition in enumerate(owner.get("conditions") or []):
            kind = condition.get("type") if isinstance(condition, dict) else None
            text = legacy_warning(kind, CONDITION_ALIASES) if isinstance(kind, str) else None
            if text:
                warn((*path, "conditions", index, "type"), text)

    for key in data:
        if key in FLOW_IGNORED:
            warn((key,), f"'{key}' is accepted but ignored by flowd", key=True)
    if "taskDefaults" in data:
        warn(("taskDefaults",), "'taskDefaults' is the old name of 'pluginDefaults'", key=True)
    for path, task in raw_tasks(data):
        kind = task.get("type")
        if not isinstance(kind, str):
            continue
        text = legacy_warning(kind, TASK_ALIASES)
        if text:
            warn((*path, "type"), text)
        ignored = ignored_properties(kind)
        for key in task:
            if key in ignored:
                warn((*path, key), f"'{key}' is accepted but ignored by flowd", key=True)
        if TASK_ALIASES.get(kind, kind) == PauseTask.TYPE and task.get("tasks"):
            warn(
                (*path, "tasks"), "a Pause's 'tasks' are deprecated in Kestra; they run once the pause ends",
                key=True, hint="move them after the Pause",
            )  # fmt: skip
        conditions(task, path)
    triggers = data.get("triggers")
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if not isinstance(trigger, dict):
            continue
        kind = trigger.get("type")
        text = legacy_warning(kind, TRIGGER_ALIASES) if isinstance(kind, str) else None
        if text:
            warn(("triggers", index, "type"), text)
        conditions(trigger, ("triggers", index))
    return out


_PLACEHOLDER_TASK = "io.kestra.plugin.core.log.Log"
_PLACEHOLDER_TRIGGER = "io.kestra.plugin.core.trigger.Webhook"


def salvage(data: dict[str, Any], error: ValidationError) -> Flow | None:
    """A flow with the invalid parts swapped for inert stand-ins, so semantic checks still run on the rest.

    Stand-ins keep list positions (paths stay true), ids and ``dependsOn``; None when nothing can be saved.
    """
    task_paths = {path for path, _ in raw_tasks(data)}
    broken: list[Path] = []
    for detail in error.errors(include_url=False):
        path, _ = data_path(detail["loc"], data)
        if not path:
            head = detail["loc"][0] if detail["loc"] else None
            if head not in ("id", "namespace"):
                return None  # the flow as a whole is unusable (no tasks, not a mapping)
            path = (str(head),)
        broken.append(_unit(path, task_paths))
    repaired: Any = data
    done: list[Path] = []
    for path in sorted(set(broken), key=len):
        if any(path[: len(p)] == p for p in done):
            continue
        done.append(path)
        is_task = path in task_paths or (isinstance(path[-1], int) and path[0] in _TASK_LIST_KEYS)
        repaired = _replace(repaired, path, _stand_in(path, _value_at(repaired, path), is_task))
    try:
        return Flow.model_validate(repaired)
    except ValidationError:
        return None


def _unit(path: Path, task_paths: set[Path]) -> Path:
    """The smallest replaceable part holding ``path``: a task, an input, a trigger, or a top-level key."""
    in_tasks = path[0] in ("tasks", "errors", "finally", "afterExecution")
    for end in range(len(path), 0, -1):
        prefix = path[:end]
        if prefix in task_paths or (
            in_tasks and len(prefix) >= 2 and isinstance(prefix[-1], int) and prefix[-2] in _TASK_LIST_KEYS
        ):
            return prefix
    if len(path) >= 2 and path[0] in ("inputs", "triggers", "outputs"):
        return path[:2]
    return path[:1]


def _stand_in(path: Path, value: Any, is_task: bool) -> Any:
    raw_id = value.get("id") if isinstance(value, dict) else None
    ident = raw_id if isinstance(raw_id, str) and raw_id.isidentifier() else f"invalid{len(path)}x{path[-1]}"
    if is_task:
        deps = value.get("dependsOn") if isinstance(value, dict) else None
        keep = deps if isinstance(deps, list) and all(isinstance(d, str) for d in deps) else []
        return {"id": ident, "type": _PLACEHOLDER_TASK, "message": "", "dependsOn": keep}
    if path[0] == "inputs":
        return {"id": ident, "type": "STRING", "required": False}
    if path[0] == "triggers":
        return {"id": ident, "type": _PLACEHOLDER_TRIGGER, "key": "placeholder"}
    if path[0] == "outputs":
        return {"id": ident, "value": ""}
    if path == ("id",) or path == ("namespace",):
        return "invalid"
    return _DELETE


_DELETE = object()


def _replace(node: Any, path: Path, value: Any) -> Any:
    """A copy of ``node`` with ``path`` set to ``value`` (removed for ``_DELETE``), copying one branch."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy = dict(node)
        new = _replace(node[head], rest, value) if head in node else value
        if new is _DELETE:
            copy.pop(head, None)  # type: ignore[arg-type]
        else:
            copy[head] = new  # type: ignore[index]
        return copy
    if isinstance(node, list) and isinstance(head, int):
        items = list(node)
        items[head] = _replace(node[head], rest, value)
        return items
    return node
