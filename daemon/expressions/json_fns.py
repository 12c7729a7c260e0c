"""JSON and YAML: ``toJson``/``json`` (serialize), ``fromJson``/``json()`` (parse), ``toYaml``, ``yaml()``."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import yaml
from jinja2 import Undefined

from daemon.expressions.dates import iso
from daemon.expressions.errors import ExpressionError


def _default(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # raises the missing-variable error
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "key") and hasattr(value, "value"):  # a map entry from a for loop
        return {"key": value.key, "value": value.value}
    raise ExpressionError(f"cannot serialize a value of type {type(value).__name__} to JSON")


def to_json(value: Any) -> str:
    """Serialize compactly, as Kestra's Jackson does (``{"a":1}``); dates become ISO-8601 strings."""
    if isinstance(value, Undefined):
        str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default)


def from_json(text: Any) -> Any:
    """Parse a JSON string; non-strings (already parsed values) are returned unchanged."""
    if not isinstance(text, str | bytes):
        if isinstance(text, Undefined):
            str(text)
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExpressionError(f"fromJson: invalid JSON: {exc}") from exc


def to_yaml(value: Any) -> str:
    """Serialize to block-style YAML (keys in their original order)."""
    return yaml.safe_dump(json.loads(to_json(value)), sort_keys=False, allow_unicode=True)


def from_yaml(text: Any) -> Any:
    """Parse a YAML string with the safe loader; non-strings are returned unchanged."""
    if not isinstance(text, str):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExpressionError(f"yaml: invalid YAML: {exc}") from exc


def is_json(value: Any) -> bool:
    """Test ``x is json``: a string holding valid JSON."""
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


FILTERS = {"json": to_json, "toJson": to_json, "fromJson": from_json, "toYaml": to_yaml, "yaml": to_yaml}
FUNCTIONS = {
    "json": from_json,
    "fromJson": from_json,
    "toJson": to_json,
    "yaml": from_yaml,
    "fromYaml": from_yaml,
}
TESTS = {"json": is_json}
