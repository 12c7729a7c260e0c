"""The fast path of ``Store.open``: a database already at the head revision is recognised without Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from daemon.store import Store
from daemon.store.engine import create_engine
from daemon.store.migrate import HEAD_REVISION, at_head, head_revision, stored_revisions


def test_head_constant_equals_the_newest_script() -> None:
    # bump HEAD_REVISION in daemon/store/migrate.py together with every new migration script
    assert head_revision() == HEAD_REVISION


def test_at_head_only_after_migrating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = create_engine(url)
    try:
        assert stored_revisions(engine) == [] and not at_head(engine)
        Store.open(url).close()
        assert stored_revisions(engine) == [HEAD_REVISION] and at_head(engine)
    finally:
        engine.dispose()


def test_a_migrated_database_is_at_head(db_url: str) -> None:
    Store.open(db_url).close()
    engine = create_engine(db_url)
    try:
        assert at_head(engine)
    finally:
        engine.dispose()


def test_another_recorded_revision_is_not_head(db_url: str) -> None:
    Store.open(db_url).close()
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'older'"))
        assert not at_head(engine)
    finally:
        engine.dispose()


def test_reopening_a_migrated_database_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flowd.db'}"
    code = (
        "import sys\nfrom daemon.store import Store\n"
        f"Store.open({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m == 'alembic' or m.startswith('alembic.'))[:1])\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "['alembic']"  # an empty file is migrated by Alembic
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "[]"
