"""Fixtures of the cluster tests: a PostgreSQL-only database URL (a fresh database per test), the
environment of a cluster, and ``flowd run`` processes stopped at the end of a test."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.daemon_harness import DaemonProcess

# ``db_url`` narrowed to its PostgreSQL parameter: these tests need LISTEN/NOTIFY and advisory locks
postgres_only = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.integration)], indirect=True
)


@pytest.fixture
def cluster_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every node of a test shares the internal storage (in the database); a dead leader is replaced
    after 4 s."""
    monkeypatch.setenv("FLOWD_STORAGE", "database")
    monkeypatch.setenv("FLOWD_LEADER_FAILOVER", "4s")


def node(flows: Path, db_url: str, home: Path, *extra: str) -> DaemonProcess:
    """``flowd run`` with its own FLOWD_HOME."""
    home.mkdir(parents=True, exist_ok=True)
    return DaemonProcess(source=flows, db_url=db_url, home=home, extra=list(extra))


@pytest.fixture
def started() -> Iterator[list[DaemonProcess]]:
    """Daemons started by a test, stopped (or killed) at its end."""
    daemons: list[DaemonProcess] = []
    yield daemons
    for daemon in daemons:
        if daemon.proc.poll() is None:
            daemon.stop(signal.SIGKILL)
