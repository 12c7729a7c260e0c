"""A DB-API cursor's result as task outputs (``row``/``rows``/stored file, ``size``, ``rowCount``)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

BATCH = 1000


class Cursor(Protocol):
    """The part of a DB-API cursor we read (psycopg and duckdb both have it)."""

    @property
    def description(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int = ...) -> Any: ...


def json_safe(value: Any) -> Any:
    """A value as JSON can carry it: dates and times as ISO strings, Decimal as a number, UUID as text,
    bytes as base64, containers recursively, anything else unknown as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        exponent = value.as_tuple().exponent  # >= 0: written without a fraction
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def collect(cursor: Cursor, fetch_type: str, store_path: Path | None = None) -> dict[str, Any]:
    """Outputs of the cursor's current result for ``fetch_type`` (NONE, FETCH, FETCH_ONE, STORE).

    A statement without a result set (DML, DDL) gives ``rowCount``. STORE writes JSON lines to
    ``store_path``; the caller puts that file into internal storage and adds ``uri``.
    """
    if cursor.description is None:
        return {"rowCount": max(cursor.rowcount, 0)}
    names = [column[0] for column in cursor.description]

    def as_dict(row: Any) -> dict[str, Any]:
        return {name: json_safe(value) for name, value in zip(names, row, strict=False)}

    if fetch_type == "FETCH_ONE":
        row = cursor.fetchone()
        return {"row": as_dict(row) if row is not None else None, "size": 0 if row is None else 1}
    if fetch_type == "FETCH":
        rows = [as_dict(row) for row in _batches(cursor)]
        return {"rows": rows, "size": len(rows)}
    if fetch_type == "STORE":
        assert store_path is not None
        size = 0
        with store_path.open("w", encoding="utf-8") as out:
            for row in _batches(cursor):
                out.write(json.dumps(as_dict(row), ensure_ascii=False) + "\n")
                size += 1
        return {"size": size}
    return {}


def _batches(cursor: Cursor) -> Any:
    while batch := cursor.fetchmany(BATCH):
        yield from batch
