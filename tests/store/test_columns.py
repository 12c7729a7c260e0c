"""Timestamps round-trip as aware UTC datetimes; naive ones are refused; JSON keeps its shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from daemon.store import Store
from daemon.store.columns import json_dumps


def test_timestamps_come_back_aware_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    at = datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=paris)
    store.heartbeats.beat("d1", host="h", pid=1, started_at=at, now=at)
    (beat,) = store.heartbeats.alive(at, timedelta(seconds=1))
    assert beat.started_at == at
    assert beat.started_at.tzinfo == UTC
    assert beat.started_at.hour == 12


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.heartbeats.beat(
            "d1", host="h", pid=1, started_at=datetime(2024, 1, 1), now=datetime(2024, 1, 1)
        )


def test_json_dumps_writes_datetimes_as_iso_utc() -> None:
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json_dumps({"date": at}) == '{"date":"2024-01-02T03:04:05Z"}'
