"""PostgreSQL connections cut under load (``pg_terminate_backend`` on every backend of the daemon's database,
repeatedly; the shared server itself keeps running): the daemon stays up, loses no execution and leaves
none RUNNING."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.engine.conftest import deploy
from tests.server.daemon_harness import wait_for
from tests.server.inprocess import InProcessDaemon

pytestmark = pytest.mark.integration

FLOW = """
id: work
namespace: t
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "{{ execution.id }}"
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 0.2
  - id: last
    type: io.kestra.plugin.core.log.Log
    message: done
"""
TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED"}
SUBMISSIONS = 30
CUTS = 8


def terminate_backends(admin_url: str, database: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def test_terminated_backends_lose_nothing(db_url: str, pg_admin_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("terminating backends is a PostgreSQL fault")
    database = make_url(db_url).database
    assert database
    daemon = InProcessDaemon(db_url, tmp_path / "home").start()
    ids: list[str] = []
    cut = 0
    try:
        deploy(daemon.services.store, FLOW)

        def submit_all() -> None:
            for _ in range(SUBMISSIONS):
                for _attempt in range(20):  # a submission cut by the fault is retried, as a client would
                    try:
                        ids.append(daemon.services.submit_execution("t", "work", {}))
                        break
                    except Exception:
                        time.sleep(0.2)
                time.sleep(0.1)

        client = threading.Thread(target=submit_all, daemon=True)
        client.start()
        while client.is_alive() and cut < CUTS:
            time.sleep(0.4)
            cut += terminate_backends(pg_admin_url, database) > 0
        client.join(120)
        store = daemon.services.store

        def all_ended() -> bool:
            try:
                rows = [store.executions.get(i) for i in ids]
            except Exception:
                return False
            return all(r is not None and r.state in TERMINAL for r in rows)

        wait_for(all_ended, "every submitted execution to end", timeout=120)
        wait_for(lambda: daemon.health()[0] == 200, "health to be UP again", timeout=60)
    finally:
        assert daemon.stop() == 0
    assert cut > 0 and len(ids) == SUBMISSIONS
    rows = [store.executions.get(i) for i in ids]
    lost = [i for i, r in zip(ids, rows, strict=True) if r is None]
    stuck = [r.id for r in rows if r is not None and r.state not in TERMINAL]
    assert not lost and not stuck
