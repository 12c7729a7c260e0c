"""Shared fixtures.

Database fixtures:
- ``pg_admin_url``: a URL for a working superuser role on 127.0.0.1:5432/test (``postgres`` or ``root``),
  or a skip with the reason when PostgreSQL cannot be reached.
- ``db_url``: parametrised over ``sqlite`` (a file in tmp_path) and ``postgresql`` (a fresh database per
  test, cloned with ``CREATE DATABASE ... TEMPLATE`` from a template migrated once per session, dropped
  after the test). Both start migrated.
- ``store``: a ``Store`` opened on ``db_url``.
Environment:
- ``flowd_home``: a temporary ``FLOWD_HOME``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from daemon.store import Store
from daemon.store.engine import create_engine
from daemon.store.migrate import upgrade

PG_HOST = "127.0.0.1:5432"
PG_ROLES = ("postgres", "root")


def _pg_url(role: str, database: str, *, driver: str = "postgresql") -> str:
    return f"{driver}://{role}@{PG_HOST}/{database}"


def _pg_execute(admin_url: str, statement: sql.Composed) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A libpq URL of a role allowed to create databases; skips when PostgreSQL is unreachable."""
    problems = []
    for role in PG_ROLES:
        url = _pg_url(role, "test")
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return url
        except psycopg.Error as exc:
            problems.append(f"{role}: {str(exc).strip()}")
    pytest.skip(
        f"PostgreSQL on {PG_HOST} is not usable ({'; '.join(problems)}); start it with "
        "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
    )


@pytest.fixture(scope="session")
def _pg_template(pg_admin_url: str) -> Iterator[str]:
    """Name of a database migrated once per session, cloned by each PostgreSQL test."""
    name = f"flowd_tpl_{uuid.uuid4().hex[:12]}"
    _pg_execute(pg_admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    engine = create_engine(pg_admin_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # a template must have no open connections to be cloned
    yield name
    _pg_execute(pg_admin_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied by each SQLite test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "flowd.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection to close checkpoints the WAL into the main file
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "flowd.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("pg_admin_url")
    template: str = request.getfixturevalue("_pg_template")
    name = f"flowd_test_{uuid.uuid4().hex[:12]}"
    _pg_execute(
        admin_url,
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)),
    )
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _pg_execute(
            admin_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated ``Store`` on ``db_url``, closed after the test."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def flowd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``FLOWD_HOME`` for the test."""
    home = tmp_path / "flowd-home"
    home.mkdir()
    monkeypatch.setenv("FLOWD_HOME", str(home))
    return home
