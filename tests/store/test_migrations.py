"""The migrations produce exactly the schema of ``tables.py``, on both backends, and are idempotent."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from psycopg import sql

from daemon.cli.main import cli
from daemon.errors import StoreError
from daemon.store import Store
from daemon.store.migrate import current_revision, head_revision
from daemon.store.tables import metadata

COMPARE_OPTS = {"compare_type": True, "compare_server_default": True}


def _diff(store: Store, target: sa.MetaData) -> list[Any]:
    with store.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn, opts=COMPARE_OPTS), target))


def test_migrated_schema_equals_metadata(store: Store) -> None:
    assert _diff(store, metadata) == []


def test_comparison_detects_a_difference(store: Store) -> None:
    # proves the test above can fail: a column missing from the migrations is reported
    changed = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    sa.Table("kv", changed, sa.Column("extra", sa.Integer), extend_existing=True)
    diff = _diff(store, changed)
    assert [d[0] for d in diff] == ["add_column"]


def test_database_is_at_head_and_reopening_is_a_no_op(db_url: str) -> None:
    first = Store.open(db_url)
    first.close()
    again = Store.open(db_url)
    try:
        assert current_revision(again.engine) == head_revision() == "0005_ui"
    finally:
        again.close()


def test_cli_db_upgrade_migrates_an_empty_sqlite_file(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade", "--db", url])
    assert first.exit_code == 0, first.output
    assert "migrated from empty to 0005_ui" in first.output
    second = runner.invoke(cli, ["db", "upgrade", "--db", url])
    assert "up to date" in second.output
    current = runner.invoke(cli, ["db", "current", "--db", url])
    assert "current: 0005_ui" in current.output


def test_cli_db_upgrade_defaults_to_flowd_home(flowd_home: Any) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (flowd_home / "flowd.db").is_file()


def test_cli_db_upgrade_reports_an_unreachable_database() -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", "sqlite:////nonexistent-dir/\0/x.db"])
    assert result.exit_code != 0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that was never migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url: str = request.getfixturevalue("pg_admin_url")
    name = f"flowd_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_processes_starting_together_migrate_once(empty_db_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        try:
            barrier.wait()
            Store.open(empty_db_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = Store.open(empty_db_url)
    try:
        assert _diff(store, metadata) == []
    finally:
        store.close()


def test_store_open_reports_an_unreachable_database() -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open("postgresql://nobody@127.0.0.1:1/none")
