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


def test_json_dumps_replaces_nul_which_postgresql_refuses() -> None:
    import json

    assert json.loads(json_dumps({"x": "a\x00b"})) == {"x": "a\ufffdb"}
    assert json.loads(json_dumps("\\u0000")) == "\\u0000"  # the six characters, not a NUL: kept
    assert json.loads(json_dumps("\\\x00")) == "\\\ufffd"


def test_a_task_output_holding_nul_is_stored(store: Store) -> None:
    from daemon.store import Execution

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    store.executions.create(
        Execution(id="nul", namespace="n", flow_id="f", flow_revision=1, state="RUNNING", start_date=t0,
                  outputs={"x": "a\x00b"})
    )  # fmt: skip
    row = store.executions.get("nul")
    assert row is not None and row.outputs == {"x": "a\ufffdb"}


def test_long_lists_encode_item_by_item_to_the_same_text() -> None:
    """A sync's plan (thousands of changes) is encoded in pieces: the text is the one ``json.dumps`` makes,
    datetimes, non-ASCII, nested long lists and NUL cleaning included."""
    import json

    from daemon.store.columns import CHUNK_ITEMS, json_default

    at = datetime(2024, 1, 1, tzinfo=UTC)
    changes = [{"uid": f"ns/f{i}", "diff": ["+ é", f"+ {i}"], "at": at} for i in range(CHUNK_ITEMS * 3)]
    plan = {
        "refused": None,
        "counts": {"created": 3},
        "changes": changes,
        "nested": [list(range(CHUNK_ITEMS + 1))],
    }
    expected = json.dumps(plan, default=json_default, separators=(",", ":"))
    assert json_dumps(plan) == expected
    assert json_dumps(changes) == json.dumps(changes, default=json_default, separators=(",", ":"))
    assert json.loads(json_dumps({1: [0] * (CHUNK_ITEMS + 1)})) == {"1": [0] * (CHUNK_ITEMS + 1)}
    dirty = json.loads(json_dumps({"changes": [{"uid": "a\x00b"}] * (CHUNK_ITEMS + 1)}))
    assert dirty["changes"][0]["uid"] == "a\ufffdb"
