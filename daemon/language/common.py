"""Building blocks shared by the flow, task and trigger models: ids, durations, retry, conditions, labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)
from typing_extensions import TypeAliasType

from daemon.language.aliases import CONDITION_ALIASES, canonical
from daemon.language.lazy_union import LazyTaggedUnion

ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"
# Kestra lets input ids carry dots (``nested.string``): they read as nested keys in ``inputs``
INPUT_ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
NAMESPACE_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=100)]
Namespace = Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN, max_length=150)]
InputId = Annotated[str, StringConstraints(pattern=INPUT_ID_PATTERN, max_length=100)]


def _iso_upper(value: Any) -> Any:
    # Java's Duration.parse takes ``PT0.25s`` (any case); pydantic only the upper-case form
    if isinstance(value, str) and value[:1] in ("p", "P", "-", "+"):
        return value.upper()
    return value


# ISO-8601 durations (PT1M, P1D, any case); pydantic parses them into timedelta
Duration = Annotated[timedelta, BeforeValidator(_iso_upper)]
LogLevel = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
StateName = Literal[
    "CREATED",
    "QUEUED",
    "RUNNING",
    "PAUSED",
    "SUCCESS",
    "WARNING",
    "FAILED",
    "KILLING",
    "KILLED",
    "CANCELLED",
    "RETRYING",
    "RETRIED",
    "SKIPPED",
    "RESTARTED",
]


def new_list() -> list[Any]:
    """``default_factory`` of list fields. Pydantic inspects the signature of every field's factory; the
    builtin ``list`` has only a text signature, parsed anew each time (~0.1 ms); a function has a real one."""
    return []


def new_dict() -> dict[str, Any]:
    """``default_factory`` of dict fields (see :func:`new_list`)."""
    return {}


class Strict(BaseModel):
    """A model that refuses properties it does not know (this is what catches typos before commit)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class Retry(Strict):
    """Kestra's retry policy; also accepts the short form ``maxAttempts`` + ``delay`` + ``multiplier``."""

    type: Literal["constant", "exponential", "random"] = "constant"
    interval: Duration | None = None
    maxInterval: Duration | None = None
    minInterval: Duration | None = None
    delayFactor: float | None = None
    maxAttempt: Annotated[int, Field(ge=1)] | None = None
    maxDuration: Duration | None = None
    warningOnRetry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("type"), str):
            data["type"] = data["type"].lower()
        if "maxAttempts" in data and "maxAttempt" not in data:
            data["maxAttempt"] = data.pop("maxAttempts")
        if "delay" in data and "interval" not in data:
            data["interval"] = data.pop("delay")
        if "multiplier" in data and "delayFactor" not in data:
            data["delayFactor"] = data.pop("multiplier")
            data.setdefault("type", "exponential")
        return data


class Condition(BaseModel):
    """A trigger or task condition; known kinds are checked, others kept as written."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    in_: list[StateName] | None = Field(default=None, alias="in")
    notIn: list[StateName] | None = None
    namespace: str | None = None
    flowId: str | None = None
    prefix: bool = False
    comparison: str | None = None

    @field_validator("type")
    @classmethod
    def _canonical(cls, value: str) -> str:
        return canonical(value, CONDITION_ALIASES)


def normalize_labels(value: Any) -> Any:
    """Labels come as a map or as a list of ``{key, value}``; both become ``dict[str, str]``."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if isinstance(item, dict) and "key" in item:
                out[str(item["key"])] = item.get("value")
            else:
                return value  # let validation report the malformed entry
        value = out
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else _label_text(v) for k, v in value.items()}
    return value


def _label_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def tagged_union(
    classes: Mapping[str, type[BaseModel]], tag: Callable[[Any], str | None], *, error_type: str, what: str
) -> Any:
    """A union of ``classes`` chosen by ``tag(raw)``; an unknown tag fails as ``error_type``.

    Each member's schema is built when a value of its type is first validated (see ``lazy_union``); the
    annotation still reads as a union of tagged members, which ``structure`` walks to find a field's owner.
    """
    lazy = LazyTaggedUnion(
        classes, tag, error_type=error_type, error_message=f"unsupported or missing {what} type"
    )
    return TypeAliasType(
        what.title(),
        Annotated[Union[tuple(Annotated[cls, Tag(name)] for name, cls in classes.items())], lazy],  # noqa: UP007
    )
