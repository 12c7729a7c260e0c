"""The JSON schema of a flow file, generated from the pydantic model for editors and check-jsonschema.

Pydantic's schema is post-processed so it stands alone: draft 2020-12 ``$schema``/``$id``, each task's and
trigger's ``type`` is an enum of its canonical and legacy names (so an unknown type matches no branch),
the Kestra properties flowd accepts but ignores are allowed, so are the seed dialect's old property names
where the model renames them, and pydantic's cosmetic titles are dropped.

A task's required properties, other than ``id``, ``type`` and its child tasks, are not required by the
schema: the flow's ``pluginDefaults`` may supply them (a PostgreSQL ``Queries`` task without ``url`` when
the defaults give one), and a schema cannot see the defaults from inside a task. ``flowd validate`` still
checks every task after merging its defaults.
"""

from __future__ import annotations

import json
from typing import Any

from daemon.language.aliases import TASK_ALIASES, TRIGGER_ALIASES
from daemon.language.model import FLOW_IGNORED, TRIGGER_CLASSES, Flow
from daemon.language.task_base import COMMON_IGNORED
from daemon.language.tasks import TASK_CLASSES
from daemon.language.tasks_scripts import LEGACY_SCRIPTS, PythonCommandsTask

SCHEMA_ID = "urn:flowd:schema:flow"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_ANY: dict[str, Any] = {}
_STRINGS = {"type": "array", "items": {"type": "string"}}
# old property names the model still reads (model validators rename them): definition -> property -> schema
_LEGACY_PROPERTIES: dict[str, dict[str, Any]] = {
    "Input": {"name": {"type": "string"}},
    "Retry": {
        "maxAttempts": {"type": "integer", "minimum": 1},
        "delay": {"type": "string"},
        "multiplier": {"type": "number"},
    },
    "HttpRequestTask": {"url": {"type": "string"}},
    "HttpDownloadTask": {"url": {"type": "string"}},
    "SlackIncomingWebhookTask": {"message": {"type": "string"}},
    "ForEachTask": {"value": _ANY},
    "PauseTask": {"delay": {"type": "string"}},
    "PostgresQueryTask": {
        "fetch": {"type": "boolean"},
        "fetchOne": {"type": "boolean"},
        "store": {"type": "boolean"},
    },
    "DuckDbQueryTask": {
        "fetch": {"type": "boolean"},
        "fetchOne": {"type": "boolean"},
        "store": {"type": "boolean"},
    },
}
_SCRIPT_LEGACY = {"exitOnFailed": {"type": "boolean"}, "outputsFiles": _STRINGS, "files": _STRINGS}
# a required property that may be given under its old name instead
_EITHER = {
    "Input": ("id", "name"),
    "HttpRequestTask": ("uri", "url"),
    "HttpDownloadTask": ("uri", "url"),
    "ForEachTask": ("values", "value"),
}
# required task properties the schema keeps: a task's identity and its child tasks
_STRUCTURAL = frozenset({"id", "type", "tasks", "then", "errors", "finally"})
_LABELS = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": _ANY},
                "required": ["key"],
            },
        },
    ]
}


def flow_schema() -> dict[str, Any]:
    """The standalone JSON schema (draft 2020-12) of a flow file."""
    schema = Flow.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = schema["$defs"]
    for cls in TASK_CLASSES.values():
        names = [cls.TYPE, *sorted(n for n, c in TASK_ALIASES.items() if c == cls.TYPE and n != cls.TYPE)]
        if cls is PythonCommandsTask:  # the legacy Python task ran commands too
            names.append(f"{LEGACY_SCRIPTS}Python")
        definition = defs[cls.__name__]
        definition["properties"]["type"] = {"enum": names, "description": f"{cls.TYPE} (or a legacy name)"}
        _allow_ignored(definition, COMMON_IGNORED | cls.IGNORED)
        if cls.__module__.endswith("tasks_scripts"):
            definition["properties"].update(_SCRIPT_LEGACY)
    for name, trigger_cls in TRIGGER_CLASSES.items():
        names = [name, *sorted(n for n, c in TRIGGER_ALIASES.items() if c == name)]
        defs[trigger_cls.__name__]["properties"]["type"] = {"enum": names}
        defs[trigger_cls.__name__]["required"] = sorted(
            {*defs[trigger_cls.__name__].get("required", []), "type"}
        )
    for def_name, extra in _LEGACY_PROPERTIES.items():
        defs[def_name]["properties"].update(extra)
    for def_name, (current, old) in _EITHER.items():
        definition = defs[def_name]
        definition["required"] = [r for r in definition.get("required", []) if r != current]
        definition["anyOf"] = [{"required": [current]}, {"required": [old]}]
    for cls in TASK_CLASSES.values():
        _leave_to_plugin_defaults(defs[cls.__name__])
    for prop in ("cases", "defaults"):  # Kestra's ``defaults: null`` (the model reads it as none)
        switch = defs["SwitchTask"]["properties"][prop]
        defs["SwitchTask"]["properties"][prop] = {"anyOf": [switch, {"type": "null"}]}
    _case_insensitive_enums(defs)
    _allow_ignored(schema, FLOW_IGNORED | {"taskDefaults", "extend"})
    schema["properties"]["taskDefaults"] = schema["properties"]["pluginDefaults"]
    _relax_labels(schema, defs)
    _drop_titles(schema)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "flowd flow",
        "description": "A Kestra-style flow file as flowd reads it (current and legacy type names).",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def render_schema() -> str:
    """The schema as committed in ``schema/flow.schema.json`` (stable key order, trailing newline)."""
    return json.dumps(flow_schema(), indent=2, sort_keys=False) + "\n"


def _allow_ignored(definition: dict[str, Any], names: frozenset[str] | set[str]) -> None:
    for name in sorted(names):
        definition["properties"].setdefault(
            name, {"description": "accepted for Kestra compatibility; ignored by flowd"}
        )


def _leave_to_plugin_defaults(definition: dict[str, Any]) -> None:
    """Drop the required properties that ``pluginDefaults`` may supply (see the module docstring)."""
    required = definition.get("required", [])
    definition["required"] = [name for name in required if name in _STRUCTURAL]
    definition.pop("anyOf", None)  # "uri or its old name url": either may come from the defaults too


def _case_insensitive_enums(defs: dict[str, Any]) -> None:
    # the model upper-cases input types (and lower-cases retry types): let the schema take any case it takes
    input_types: list[str] = defs["Input"]["properties"]["type"]["enum"]
    extra = ["BOOL", "ENUM", "INTEGER", "NUMBER", "STR"]
    every = [*input_types, *extra]
    for prop in ("type", "itemType"):
        spec = defs["Input"]["properties"][prop]
        target = spec if "enum" in spec else next(s for s in spec["anyOf"] if "enum" in s)
        target["enum"] = [*every, *(t.lower() for t in every), *(t.title() for t in every)]
    retry = defs["Retry"]["properties"]["type"]
    retry["enum"] = [*retry["enum"], *(t.upper() for t in retry["enum"]), *(t.title() for t in retry["enum"])]


def _relax_labels(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    for definition in (schema, *defs.values()):
        props = definition.get("properties", {})
        if "labels" in props and props["labels"].get("type") == "object":
            props["labels"] = {**_LABELS, "description": "a map, or a list of {key, value}"}


def _drop_titles(node: Any) -> None:
    """Pydantic titles every property ("Dependson"); editors show them, so keep only the definitions' own."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for spec in props.values():
                if isinstance(spec, dict):
                    spec.pop("title", None)
        node.pop("discriminator", None)
        for value in node.values():
            _drop_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_titles(value)
