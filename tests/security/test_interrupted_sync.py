"""A sync left open by a daemon killed with -9 is closed as INTERRUPTED when the next daemon starts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.store import Store
from tests.server.daemon_harness import DaemonProcess, wait_for

pytestmark = pytest.mark.integration


def test_the_next_start_closes_an_open_sync(tmp_path: Path, db_url: str, store: Store) -> None:
    left_open = store.syncs.start(
        source="killed", ref=None, commit_attempted=None, started_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    (tmp_path / "flows").mkdir()
    (tmp_path / "home").mkdir()
    daemon = DaemonProcess(source=tmp_path / "flows", db_url=db_url, home=tmp_path / "home")
    try:
        closed = wait_for(
            lambda: (row := store.syncs.get(left_open)) is not None and row.result is not None and row,
            "the open sync to be closed",
        )
    finally:
        daemon.stop()
    assert closed.result == "INTERRUPTED" and closed.finished_at is not None
