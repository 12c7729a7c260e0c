"""Flow outputs typed by their declared ``type`` (Kestra converts a rendered output the way it converts an
input of that type). Pure."""

from __future__ import annotations

import ast
import json
from typing import Any

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def typed_output(output_type: str, value: Any) -> Any:
    """``value`` (usually the rendered text) as ``output_type``: INT -> int, FLOAT -> float, BOOLEAN ->
    bool, JSON -> parsed, ARRAY -> list; other types are kept as rendered. ValueError says what is wrong."""
    if output_type == "INT":
        return _int(value)
    if output_type == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{value!r} is not a number")
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if output_type == "BOOLEAN":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a boolean (true or false)")
    if output_type == "JSON" and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    if output_type == "ARRAY" and isinstance(value, str):
        # rendered text of a list (JSON, or Python's repr of a rendered list)
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError:
            try:
                loaded = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                raise ValueError(f"{value!r} is not an array") from None
        if not isinstance(loaded, list | tuple):
            raise ValueError(f"{value!r} is not an array")
        return list(loaded)
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = float("nan")
            if number.is_integer():
                return int(number)
    raise ValueError(f"{value!r} is not an integer")
