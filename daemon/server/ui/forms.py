"""The Execute form of a flow: one field per typed input, defaults filled. Pure.

Values go back to the server as form fields and are typed by the engine (``resolve_inputs``), which names
the input in its ``InputError``; the form only chooses the right widget and pre-fills it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from daemon.language.model import Input

# input type -> HTML widget
WIDGETS: dict[str, str] = {
    "STRING": "text",
    "INT": "number",
    "FLOAT": "number",
    "BOOLEAN": "boolean",
    "SELECT": "select",
    "MULTISELECT": "multiselect",
    "DATE": "date",
    "DATETIME": "datetime",
    "TIME": "time",
    "DURATION": "text",
    "JSON": "textarea",
    "YAML": "textarea",
    "ARRAY": "textarea",
    "URI": "url",
    "EMAIL": "email",
    "SECRET": "password",
    "FILE": "file",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One form field."""

    id: str
    label: str
    type: str
    widget: str
    required: bool
    description: str | None
    value: str
    choices: tuple[str, ...] = ()
    selected: frozenset[str] = field(default_factory=frozenset)
    step: str | None = None
    error: str | None = None
    placeholder: str = ""


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind in ("JSON", "ARRAY") and not isinstance(value, str):
        return json.dumps(value, indent=2)
    if kind == "YAML" and not isinstance(value, str):
        return yaml.safe_dump(value, sort_keys=False).strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choices(spec: Input) -> tuple[str, ...]:
    values: Any = spec.values
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError:  # an expression: the engine decides; show it as free text
            return ()
    return tuple(str(v) for v in values or [])


def _as_set(value: Any) -> frozenset[str]:
    if value is None or value == "":
        return frozenset()
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
            if isinstance(loaded, list):
                return frozenset(str(v) for v in loaded)
        except ValueError:
            pass
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _placeholder(kind: str) -> str:
    return {
        "DATETIME": "2025-01-31T12:00:00Z",
        "DURATION": "PT5M",
        "JSON": '{"key": "value"}',
        "ARRAY": '["a", "b"]',
        "URI": "https://example.com/",
        "TIME": "12:00:00",
    }.get(kind, "")


def build_fields(
    inputs: list[Input], given: Mapping[str, Any] | None = None, errors: Mapping[str, str] | None = None
) -> list[Field]:
    """The form's fields for a flow's inputs; ``given`` (a re-shown form) wins over the defaults and
    ``errors`` puts a message beside the input it names."""
    out: list[Field] = []
    for spec in inputs:
        default = spec.defaults if spec.defaults is not None else spec.prefill
        value = given[spec.id] if given is not None and spec.id in given else default
        widget = WIDGETS.get(spec.type, "text")
        choices = _choices(spec) if spec.type in ("SELECT", "MULTISELECT") else ()
        if spec.type in ("SELECT", "MULTISELECT") and not choices:
            widget = "text"
        if spec.type == "DATETIME":
            widget = "text"  # the browser's datetime-local has no time zone; the engine needs one
        out.append(
            Field(
                id=spec.id, label=spec.displayName or spec.id, type=spec.type, widget=widget,
                required=spec.required and default is None, description=spec.description,
                value=_text(value, spec.type) if spec.type != "SECRET" or given else "",
                choices=choices, selected=_as_set(value) if spec.type == "MULTISELECT" else frozenset(),
                step="any" if spec.type == "FLOAT" else "1" if spec.type == "INT" else None,
                error=(errors or {}).get(spec.id), placeholder=_placeholder(spec.type),
            )
        )  # fmt: skip
    return out


def form_values(values: Mapping[str, Any], inputs: list[Input]) -> dict[str, Any]:
    """The submitted form fields as inputs: an empty field is left out (the default applies) unless the
    input is a STRING, where empty is a value; MULTISELECT keeps its list."""
    declared = {spec.id: spec for spec in inputs}
    out: dict[str, Any] = {}
    for key, value in values.items():
        spec = declared.get(key)
        if spec is None:
            continue  # the form sends only declared inputs; anything else is not an input
        if spec.type == "MULTISELECT":
            out[key] = value if isinstance(value, list) else [value]
            continue
        if isinstance(value, list):
            value = value[0] if value else ""
        if value == "" and spec.type not in ("STRING",):
            continue
        out[key] = value
    return out
