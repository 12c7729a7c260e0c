"""The catalogue of supported types, read from the model's registry: what ``flowd plugins`` prints and what
the compatibility table's generated section holds (a test keeps the two in step).

Each entry names a canonical type, its kind (task or trigger), its other names (legacy ones, Kestra's
current ones), its properties (required first) and the Kestra properties it accepts and ignores.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from typing_extensions import TypeAliasType

from daemon.language.aliases import TASK_ALIASES, TRIGGER_ALIASES
from daemon.language.fields import field_annotation
from daemon.language.model import TRIGGER_CLASSES
from daemon.language.task_base import COMMON_IGNORED, TaskBase
from daemon.language.tasks import TASK_CLASSES

Kind = Literal["task", "trigger"]
_COMMON_TASK = frozenset(TaskBase.model_fields)
_SAMPLES: dict[str, str] = {
    "message": '"Hello {{ flow.id }}"',
    "format": '"{{ execution.id }}"',
    "sql": '"select 1"',
    "uri": "https://example.com/data.csv",
    "url": "\"{{ secret('URL') }}\"",
    "commands": '\n    - echo "hello"',
    "script": "print('hello')",
    "duration": "PT5S",
    "key": "my_key",
    "value": '"{{ execution.state }}"',
    "values": "[a, b]",
    "condition": '"{{ inputs.enabled }}"',
    "namespace": "company.team",
    "flowId": "other_flow",
    "table": "my_table",
    "from": '"{{ outputs.download.uri }}"',
    "labels": "\n    team: data",
    "cron": '"0 9 * * *"',
    "dates": '\n    - "2030-01-01T09:00:00Z"',
}
_CHILD = '\n    - id: child\n      type: io.kestra.plugin.core.log.Log\n      message: "inside"'
_DAG_CHILD = (
    '\n    - task:\n        id: child\n        type: io.kestra.plugin.core.log.Log\n        message: "inside"'
)


@dataclass(frozen=True, slots=True)
class Property:
    """One property of a type: its YAML name, a short type text and whether it is required."""

    name: str
    type: str
    required: bool


@dataclass(frozen=True, slots=True)
class Entry:
    """One supported type."""

    type: str
    kind: Kind
    status: str
    aliases: tuple[str, ...]
    properties: tuple[Property, ...]
    ignored: tuple[str, ...]

    def example(self) -> str:
        """A small YAML snippet using the type (its required properties filled in)."""
        head = "id: my_trigger" if self.kind == "trigger" else "id: my_task"
        lines = [head, f"type: {self.type}"]
        for prop in self.properties:
            if not prop.required:
                continue
            if self.type.endswith(".flow.Dag") and prop.name == "tasks":
                sample = _DAG_CHILD
            elif prop.name in ("tasks", "then"):
                sample = _CHILD
            else:
                sample = _SAMPLES.get(prop.name, "...")
            gap = "" if sample.startswith("\n") else " "
            lines.append(f"{prop.name}:{gap}{sample}".replace("\n    ", "\n  "))
        if self.type.endswith(".flow.Switch"):
            lines.append("cases:\n  RUNNING:" + _CHILD)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``flowd plugins --format json``."""
        return {
            "type": self.type,
            "kind": self.kind,
            "status": self.status,
            "aliases": list(self.aliases),
            "properties": [{"name": p.name, "type": p.type, "required": p.required} for p in self.properties],
            "ignored": list(self.ignored),
        }


def catalogue() -> list[Entry]:
    """Every supported task and trigger type, sorted by kind then name."""
    entries = [_entry(name, cls, "task", TASK_ALIASES) for name, cls in TASK_CLASSES.items()]
    entries += [_entry(name, cls, "trigger", TRIGGER_ALIASES) for name, cls in TRIGGER_CLASSES.items()]
    return sorted(entries, key=lambda e: (e.kind, e.type))


def find(name: str) -> list[Entry]:
    """Entries matching ``name``: a canonical or other name, or the end of one (``log.Log``, ``Log``)."""
    wanted = name.strip()
    everything = catalogue()
    exact = [e for e in everything if wanted == e.type or wanted in e.aliases]
    if exact:
        return exact
    lowered = wanted.lower()
    return [e for e in everything if any(n.lower().endswith("." + lowered) for n in (e.type, *e.aliases))]


def _entry(name: str, cls: type[BaseModel], kind: Kind, aliases: dict[str, str]) -> Entry:
    others = tuple(sorted(alias for alias, current in aliases.items() if current == name and alias != name))
    own = [
        Property(info.alias or field, _type_text(field_annotation(cls, field)), info.is_required())
        for field, info in cls.model_fields.items()
        if field not in ("id", "type") and (kind == "trigger" or field not in _COMMON_TASK)
    ]
    own.sort(key=lambda p: (not p.required, p.name))
    ignored = getattr(cls, "IGNORED", frozenset()) | (COMMON_IGNORED if kind == "task" else frozenset())
    return Entry(name, kind, "supported", others, tuple(own), tuple(sorted(ignored)))


def _type_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is list and _is_task(get_args(annotation)[0]):
        return "list of tasks"
    if origin is dict and get_origin(get_args(annotation)[1]) is list and _is_task(get_args(annotation)[1]):
        return "map of task lists"
    if origin in (Union, types.UnionType):
        parts = [_type_text(a) for a in get_args(annotation) if a is not type(None)]
        return " | ".join(dict.fromkeys(parts))
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(annotation))
    if origin in (list, tuple):
        return "list"
    if origin is dict:
        return "map"
    name = getattr(annotation, "__name__", None) or str(annotation)
    return {
        "str": "string",
        "int": "integer",
        "float": "number",
        "bool": "boolean",
        "timedelta": "duration",
        "datetime": "date-time",
        "Any": "any",
        "TypeAliasType": "task",
    }.get(name, "task" if name in ("Task", "TaskBase") else name.lower() if name[:1].isupper() else name)


def _is_task(annotation: Any) -> bool:
    # the task union is a type alias named ``Task``; ``list[Task]`` / ``dict[str, list[Task]]``
    while get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    return isinstance(annotation, TypeAliasType) and annotation.__name__ == "Task"


def render_markdown(entries: list[Entry] | None = None) -> str:
    """The generated section of the compatibility table: one row per supported type."""
    rows = ["| type | kind | other names | properties (required in bold) |", "|---|---|---|---|"]
    for entry in entries or catalogue():
        props = ", ".join(f"**{p.name}**" if p.required else p.name for p in entry.properties) or "—"
        others = ", ".join(f"`{a}`" for a in entry.aliases) or "—"
        rows.append(f"| `{entry.type}` | {entry.kind} | {others} | {props} |")
    return "\n".join(rows) + "\n"
