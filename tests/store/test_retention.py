"""Retention: ``purge`` and ``flowd db purge`` delete old ended executions with their rows and files, and
ticks behind their trigger's cursor; never a running execution, never a tick that still guards a fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from daemon.cli.db import command as db_command
from daemon.settings import Settings
from daemon.store import Execution, LogEntry, Store
from daemon.store.retention import RetentionError, parse_age, purge
from daemon.store.storage import InternalStorage
from daemon.store.storage_db import DatabaseStorage, open_storage
from daemon.store.tables import schedule_ticks, storage_chunks, storage_files, task_runs, triggers

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=40)


def add_execution(store: Store, eid: str, state: str, *, ended: datetime | None) -> None:
    store.executions.create(
        Execution(id=eid, namespace="t", flow_id="f", flow_revision=1, state=state, start_date=OLD,
                  end_date=ended)
    )  # fmt: skip
    with store.begin() as conn:
        conn.execute(
            task_runs.insert(),
            {"id": f"{eid}-r", "execution_id": eid, "task_id": "a", "state": state, "histories": [],
             "attempts": [], "ready_at": OLD},
        )  # fmt: skip
    store.logs.insert([LogEntry(execution_id=eid, level="INFO", timestamp=OLD, message="m")])


def add_tick(store: Store, trigger_id: str, at: datetime) -> None:
    with store.begin() as conn:
        conn.execute(
            schedule_ticks.insert(),
            {"namespace": "t", "flow_id": "f", "trigger_id": trigger_id, "scheduled_date": at,
             "created_at": at},
        )  # fmt: skip


def seed(store: Store, storage: InternalStorage) -> None:
    add_execution(store, "old-ok", "SUCCESS", ended=OLD)
    add_execution(store, "old-failed", "FAILED", ended=OLD)
    add_execution(store, "new-ok", "SUCCESS", ended=NOW)
    add_execution(store, "old-running", "RUNNING", ended=None)
    src = storage.root.parent / "out.txt"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(b"x")
    storage.put("t", "f", "old-ok", "a", "old-ok-r", src)
    with store.begin() as conn:  # the cursor of trigger "s" is 35 days ago
        conn.execute(
            triggers.insert(),
            {"namespace": "t", "flow_id": "f", "trigger_id": "s", "revision": 1, "definition_hash": "h",
             "last_date": NOW - timedelta(days=35), "disabled": False, "updated_at": NOW},
        )  # fmt: skip
    add_tick(store, "s", OLD)  # behind the cursor and old: goes
    add_tick(store, "s", NOW - timedelta(days=35))  # at the cursor: stays
    add_tick(store, "gone", OLD)  # its trigger no longer exists: goes
    add_tick(store, "s", NOW - timedelta(days=1))  # recent: stays


def stored_rows(store: Store, execution_id: str) -> tuple[int, int]:
    """The database storage's file rows of an execution, and chunk rows of those files."""
    with store.engine.connect() as conn:
        files = conn.execute(
            sa.select(sa.func.count())
            .select_from(storage_files)
            .where(storage_files.c.execution_id == execution_id)
        ).scalar_one()
        chunks = conn.execute(
            sa.select(sa.func.count())
            .select_from(storage_chunks)
            .where(storage_chunks.c.uri.like(f"%/executions/{execution_id}/%"))
        ).scalar_one()
    return int(files), int(chunks)


def remaining(store: Store) -> set[str]:
    return {e.id for e in store.executions.list(limit=100)}


def test_parse_age() -> None:
    assert parse_age("30d") == timedelta(days=30)
    assert parse_age("P2W") == timedelta(weeks=2)
    assert parse_age("12h") == timedelta(hours=12)
    with pytest.raises(RetentionError):
        parse_age("soon")


@pytest.mark.integration
def test_purge_deletes_old_ended_executions_rows_files_and_ticks(store: Store, tmp_path: Path) -> None:
    storage = InternalStorage(tmp_path / "storage")
    seed(store, storage)
    before = NOW - timedelta(days=30)
    dry = purge(store, before=before, dry_run=True)
    assert (dry.executions, dry.task_runs, dry.logs, dry.schedule_ticks) == (2, 2, 2, 2)
    assert len(remaining(store)) == 4  # a dry run deletes nothing
    counts = purge(store, before=before, keep_failed=True, storage=storage)
    assert (counts.executions, counts.task_runs, counts.logs, counts.file_folders) == (1, 1, 1, 1)
    assert counts.schedule_ticks == 2
    assert remaining(store) == {"old-failed", "new-ok", "old-running"}
    assert store.executions.list_task_runs("old-ok") == []
    assert store.logs.for_execution("old-ok") == []
    assert not list((tmp_path / "storage").rglob("out.txt"))
    with store.engine.connect() as conn:
        left = {(r.trigger_id, r.scheduled_date) for r in conn.execute(sa.select(schedule_ticks))}
    assert {t for t, _ in left} == {"s"} and len(left) == 2
    assert purge(store, before=before).executions == 1  # without --keep-failed the failed one goes too
    assert remaining(store) == {"new-ok", "old-running"}


@pytest.mark.integration
def test_cli_db_purge(store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWD_HOME", str(tmp_path / "home"))
    seed(store, InternalStorage(tmp_path / "home" / "storage"))
    runner = CliRunner()
    dry = runner.invoke(db_command, ["purge", "--older-than", "30d", "--dry-run", "--db", db_url])
    assert dry.exit_code == 0, dry.output
    assert "would delete 2 execution(s)" in dry.output
    done = runner.invoke(db_command, ["purge", "--older-than", "30d", "--keep-failed", "--db", db_url])
    assert done.exit_code == 0, done.output
    assert "deleted 1 execution(s)" in done.output and "1 file folder(s)" in done.output
    bad = runner.invoke(db_command, ["purge", "--older-than", "later", "--db", db_url])
    assert bad.exit_code == 2 and "--older-than" in bad.output


@pytest.mark.integration
def test_cli_db_purge_deletes_from_the_database_storage(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``FLOWD_STORAGE=database``: the old execution's output file is in ``storage_files`` /
    ``storage_chunks``, and the purge deletes its chunks there (not in a local folder nobody writes to)."""
    monkeypatch.setenv("FLOWD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLOWD_STORAGE", "database")
    settings = Settings()
    storage = open_storage(
        settings.storage, engine=store.engine, storage_dir=settings.storage_dir, cache_dir=settings.cache_dir
    )
    assert isinstance(storage, DatabaseStorage)
    seed(store, storage)
    assert stored_rows(store, "old-ok") == (1, 1)
    done = CliRunner().invoke(db_command, ["purge", "--older-than", "30d", "--keep-failed", "--db", db_url])
    assert done.exit_code == 0, done.output
    assert "deleted 1 execution(s)" in done.output and "1 file folder(s)" in done.output
    assert stored_rows(store, "old-ok") == (0, 0)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["local", "database"])
def test_daemon_purges_at_start_when_retention_is_set(
    store: Store, db_url: str, tmp_path: Path, kind: str
) -> None:
    """The daemon's retention duty purges the files from the storage ``FLOWD_STORAGE`` selects."""
    from tests.server.daemon_harness import wait_for
    from tests.server.inprocess import InProcessDaemon

    home = tmp_path / "home"
    settings = Settings(home=home, storage=kind)
    storage = open_storage(
        kind, engine=store.engine, storage_dir=settings.storage_dir, cache_dir=settings.cache_dir
    )
    seed(store, storage)
    daemon = InProcessDaemon(db_url, home, retention="30d", storage=kind).start()
    try:
        wait_for(lambda: remaining(store) == {"new-ok", "old-running"}, "the daemon's purge")
        if kind == "database":
            wait_for(lambda: stored_rows(store, "old-ok") == (0, 0), "the purge of the file's chunks")
        else:
            wait_for(lambda: not list(settings.storage_dir.rglob("out.txt")), "the purge of the file")
    finally:
        assert daemon.stop() == 0
