"""A model's data as plain dicts and lists, without pydantic's serializer.

``model_dump`` needs the model class's serializer, built on first use; the flow models defer that build
(``defer_build``) until a task type is first validated. A flow loaded from the parsed-flow cache never
built anything, so code that only wants to walk a task's values (to find its templates, say) uses
:func:`to_plain` and keeps that cost (a few ms per task type) away.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def to_plain(value: Any) -> Any:
    """``value`` with every model turned into a dict of its fields (and extra properties) by field name,
    recursively through lists, tuples and dicts; ``None`` fields are left out, like
    ``model_dump(exclude_none=True)``. Other values are returned as they are."""
    if isinstance(value, BaseModel):
        fields = {**value.__dict__, **(value.__pydantic_extra__ or {})}
        return {k: to_plain(v) for k, v in fields.items() if v is not None}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value
