"""Column types shared by the tables and the migrations, and SQL expressions over them.

``UTCDateTime`` makes timestamps round-trip as aware UTC datetimes on both backends: PostgreSQL stores
``timestamptz``; SQLite has no time zone type, so values are stored as naive UTC text (which sorts
chronologically) and given ``UTC`` back when read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from daemon.store.textsafe import clean_value, needs_cleaning


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime on both backends; naive datetimes are refused (they are ambiguous)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type(*, none_as_null: bool = True) -> sa.types.TypeEngine[Any]:
    """``JSON`` everywhere, ``JSONB`` on PostgreSQL (compact, comparable, supports ``||``).

    With ``none_as_null`` a Python ``None`` is stored as SQL NULL rather than JSON ``null``.
    """
    return sa.JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null), "postgresql"
    )


def json_default(value: object) -> str:
    """JSON encoder fallback: datetimes and dates inside JSON columns become ISO-8601 strings."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
            return value.isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# an escaped NUL (``\u0000``) not itself preceded by an escaped backslash


def json_dumps(value: object) -> str:
    """The engine's JSON serializer (see ``json_default``). Strings a store cannot hold (NUL, lone
    surrogates) are replaced with U+FFFD (``textsafe``), so a task's bytes never fail a write."""
    text = _encode(value)
    if needs_cleaning(text):
        text = _encode(clean_value(value))
    return text


# a list longer than this is encoded item by item (see ``_encode``)
CHUNK_ITEMS = 256


def _encode(value: object) -> str:
    """Compact JSON, the same text as one ``json.dumps``; a long list (a sync's plan: 10,000 changes, 2 MB)
    is encoded item by item, because the C encoder holds the GIL for the whole of one call (40 ms for that
    plan), stalling every other thread, the daemon's main loop included; between items it can switch."""
    if isinstance(value, list) and len(value) > CHUNK_ITEMS:
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if isinstance(value, dict) and _holds_long_list(value):
        return "{" + ",".join(f"{_encode(key)}:{_encode(item)}" for key, item in value.items()) + "}"
    return json.dumps(value, default=json_default, separators=(",", ":"))


def _holds_long_list(value: dict[Any, Any]) -> bool:
    # only string keys: others (numbers, None) have conversions of their own, left to ``json.dumps``
    long = any(isinstance(item, list) and len(item) > CHUNK_ITEMS for item in value.values())
    return long and all(type(key) is str for key in value)


def json_append(
    dialect_name: str, column: sa.ColumnElement[Any], item: sa.ColumnElement[Any]
) -> ColumnElement[Any]:
    """SQL for ``column`` (a JSON array, NULL meaning empty) with ``item`` (a JSON text, usually a bind
    parameter filled with ``json_dumps(...)``) appended, evaluated in the UPDATE.

    Appending in SQL keeps a row's history complete when the row is changed by a set-based UPDATE
    (a claim), without reading it first.
    """
    if dialect_name == "postgresql":
        base = sa.func.coalesce(column, sa.cast(sa.literal("[]"), postgresql.JSONB))
        appended = base.op("||")(sa.func.jsonb_build_array(sa.cast(item, postgresql.JSONB)))
        return sa.type_coerce(appended, column.type)
    base = sa.func.coalesce(column, sa.literal("[]"))
    return sa.type_coerce(sa.func.json_insert(base, "$[#]", sa.func.json(item)), column.type)
