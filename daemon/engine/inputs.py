"""Typed, validated execution inputs (Kestra's input types). Pure: values are data, never rendered.

``resolve_inputs(flow.inputs, given)`` returns the stored values (JSON-friendly: dates as ISO strings,
durations as ISO-8601) or raises ``InputError`` naming the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlparse

import yaml
from pydantic import TypeAdapter, ValidationError

from daemon.errors import InputError
from daemon.language.model import Input

_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}

# FILE inputs: the caller turns a local path into an internal storage URI (it has the storage at hand)
FileUploader = Callable[[str, str], str]  # (input id, local path) -> kestra:/// URI


def resolve_inputs(
    declared: list[Input], given: Mapping[str, Any], *, upload: FileUploader | None = None
) -> dict[str, Any]:
    """Validate ``given`` against the flow's inputs, apply defaults; unknown inputs are kept as given."""
    out: dict[str, Any] = {}
    for spec in declared:
        raw = given.get(spec.id)
        if raw is None or (raw == "" and spec.type not in ("STRING", "SECRET")):
            raw = spec.defaults if spec.defaults is not None else spec.prefill
        if raw is None:
            if spec.required:
                raise InputError(spec.id, "is required and has no default")
            out[spec.id] = None
            continue
        out[spec.id] = coerce(spec, raw, upload=upload)
    for key, value in given.items():
        out.setdefault(key, value)
    return out


def coerce(spec: Input, raw: Any, *, upload: FileUploader | None = None) -> Any:
    """One input value, typed and validated."""
    try:
        return _COERCE[spec.type](spec, raw, upload)
    except InputError:
        raise
    except (ValueError, TypeError, ValidationError, yaml.YAMLError) as exc:
        raise InputError(spec.id, f"invalid {spec.type} value {raw!r}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _string(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    if isinstance(raw, dict | list):
        raise ValueError("expected a string")
    text = raw if isinstance(raw, str) else str(raw)
    if spec.validator and not re.fullmatch(spec.validator, text):
        raise InputError(spec.id, f"value {text!r} does not match the validator {spec.validator!r}")
    if spec.minLength is not None and len(text) < spec.minLength:
        raise InputError(spec.id, f"shorter than {spec.minLength} characters")
    if spec.maxLength is not None and len(text) > spec.maxLength:
        raise InputError(spec.id, f"longer than {spec.maxLength} characters")
    return text


def _bounded(spec: Input, value: Any) -> Any:
    if spec.min is not None and value < type(value)(spec.min):
        raise InputError(spec.id, f"{value} is less than the minimum {spec.min}")
    if spec.max is not None and value > type(value)(spec.max):
        raise InputError(spec.id, f"{value} is more than the maximum {spec.max}")
    return value


def _int(spec: Input, raw: Any, _u: FileUploader | None) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError("expected an integer")
    return int(_bounded(spec, int(raw)))


def _float(spec: Input, raw: Any, _u: FileUploader | None) -> float:
    if isinstance(raw, bool):
        raise ValueError("expected a number")
    return float(_bounded(spec, float(raw)))


def _bool(spec: Input, raw: Any, _u: FileUploader | None) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected true or false")


def _choices(spec: Input) -> list[str]:
    values = spec.values
    if isinstance(values, str):
        values = json.loads(values)
    return [str(v) for v in values or []]


def _select(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    text = str(raw)
    if not spec.allowCustomValue and text not in _choices(spec):
        raise InputError(spec.id, f"{text!r} is not one of {_choices(spec)}")
    return text


def _multiselect(spec: Input, raw: Any, _u: FileUploader | None) -> list[str]:
    items = _as_list(raw)
    choices = _choices(spec)
    bad = [str(v) for v in items if str(v) not in choices]
    if bad and not spec.allowCustomValue:
        raise InputError(spec.id, f"{bad} not in {choices}")
    return [str(v) for v in items]


def _as_list(raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return raw
    text = str(raw).strip()
    if text.startswith("["):
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError("expected a list")
        return loaded
    return [part.strip() for part in text.split(",") if part.strip()]


def _datetime(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("a date-time needs a time zone (e.g. 2024-01-01T00:00:00Z)")
    _within(
        spec,
        value,
        lambda v: v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00")),
    )
    return value.isoformat().replace("+00:00", "Z")


def _date(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    _within(spec, value, lambda v: v if isinstance(v, date) else date.fromisoformat(str(v)))
    return value.isoformat()


def _time(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    value = raw if isinstance(raw, time) else time.fromisoformat(str(raw))
    _within(spec, value, lambda v: v if isinstance(v, time) else time.fromisoformat(str(v)))
    return value.isoformat()


def _within(spec: Input, value: Any, parse: Callable[[Any], Any]) -> None:
    """Kestra's ``after`` / ``before`` bounds of DATE, DATETIME and TIME inputs (templated bounds skipped)."""
    for bound, word, outside in (
        (spec.after, "after", lambda b: value < b),
        (spec.before, "before", lambda b: value > b),
    ):
        if bound is None or (isinstance(bound, str) and "{{" in bound):
            continue
        if outside(parse(bound)):
            raise InputError(spec.id, f"{value.isoformat()} is not {word} {bound}")


def _duration(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    value = raw if isinstance(raw, timedelta) else _DURATION.validate_python(str(raw))
    return _DURATION.dump_python(value, mode="json")  # type: ignore[no-any-return]


def _json(spec: Input, raw: Any, _u: FileUploader | None) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw


def _yaml(spec: Input, raw: Any, _u: FileUploader | None) -> Any:
    return yaml.safe_load(raw) if isinstance(raw, str) else raw


def _uri(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    text = str(raw)
    parsed = urlparse(text)
    if not parsed.scheme or not (parsed.netloc or parsed.path):
        raise ValueError("expected a URI with a scheme")
    return text


def _email(spec: Input, raw: Any, _u: FileUploader | None) -> str:
    text = str(raw)
    if not _EMAIL.match(text):
        raise ValueError("expected an e-mail address")
    return text


def _array(spec: Input, raw: Any, upload: FileUploader | None) -> list[Any]:
    items = _as_list(raw)
    if spec.itemType is None:
        return items
    item_spec = spec.model_copy(update={"type": spec.itemType, "itemType": None})
    return [coerce(item_spec, item, upload=upload) for item in items]


def _file(spec: Input, raw: Any, upload: FileUploader | None) -> str:
    text = str(raw)
    if text.startswith("kestra://") or upload is None:
        return text
    return upload(spec.id, text)


_COERCE: dict[str, Callable[[Input, Any, FileUploader | None], Any]] = {
    "STRING": _string, "SECRET": _string, "INT": _int, "FLOAT": _float, "BOOLEAN": _bool,
    "SELECT": _select, "MULTISELECT": _multiselect, "DATETIME": _datetime, "DATE": _date, "TIME": _time,
    "DURATION": _duration, "JSON": _json, "YAML": _yaml, "URI": _uri, "EMAIL": _email, "ARRAY": _array,
    "FILE": _file,
}  # fmt: skip
