"""``flowd run`` as a real subprocess, on SQLite and PostgreSQL: deploy, watch, schedule, crash, shutdown."""

from __future__ import annotations

import itertools
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon.store import Execution, Store
from tests.server.daemon_harness import FLOWD, DaemonProcess, wait_for

pytestmark = pytest.mark.integration

LOG_FLOW = """
id: {flow_id}
namespace: test.daemon
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hello
"""
PER_SECOND = """
id: ticker
namespace: test.daemon
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "tick {{ trigger.date }}"
triggers:
  - id: every-second
    type: io.kestra.plugin.core.trigger.Schedule
    withSeconds: true
    cron: "* * * * * *"
"""
LONG = """
id: long
namespace: test.daemon
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 120
"""
CHAIN_B = """
id: b
namespace: test.daemon
tasks:
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "after {{ trigger.flowId }}"
triggers:
  - id: after-a
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: test.daemon
        flowId: a
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def succeeded(store: Store, flow_id: str) -> list[Execution]:
    return [
        e for e in store.executions.list(namespace="test.daemon", flow_id=flow_id) if e.state == "SUCCESS"
    ]


def deployed(store: Store, flow_id: str) -> bool:
    return store.flows.get("test.daemon", flow_id) is not None


def test_deploys_watches_and_chains_flows(flows: Path, home: Path, db_url: str, store: Store) -> None:
    (flows / "a.yml").write_text(LOG_FLOW.format(flow_id="a"))
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home, extra=["--interval", "1h"])
    try:
        wait_for(lambda: deployed(store, "a"), "the folder's flow to be deployed")
        (flows / "b.yml").write_text(CHAIN_B)  # saved while running: the watch deploys it (interval is 1 h)
        wait_for(lambda: deployed(store, "b"), "the saved file to be deployed")
        result = subprocess.run(
            [*FLOWD, "execute", "test.daemon/a", "--db", db_url],
            env={"FLOWD_HOME": str(home), "PATH": "/usr/bin"}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        runs_a = store.executions.list(namespace="test.daemon", flow_id="a")
        assert len(runs_a) == 1
        assert runs_a[0].owner_id is not None  # handed to the daemon, which adopted it
        chained = wait_for(
            lambda: succeeded(store, "b"),
            "flow b to run after flow a",
        )  # fmt: skip
        assert chained[0].trigger is not None
        assert chained[0].trigger["variables"]["executionId"] == runs_a[0].id
    finally:
        assert daemon.stop() == 0, daemon.output()


def ticks(store: Store) -> list[str]:
    rows = store.executions.list(namespace="test.daemon", flow_id="ticker", limit=10_000)
    return [(r.trigger or {}).get("variables", {}).get("date") for r in rows]


def test_kill_9_then_restart_neither_duplicates_nor_loses_ticks(
    flows: Path, home: Path, db_url: str, store: Store
) -> None:
    (flows / "ticker.yml").write_text(PER_SECOND)
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home)
    wait_for(lambda: len(ticks(store)) >= 3, "per-second ticks")
    daemon.stop(signal.SIGKILL)
    before = len(ticks(store))
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home)
    try:
        wait_for(lambda: len(ticks(store)) >= before + 3, "ticks after the restart")
    finally:
        assert daemon.stop() == 0, daemon.output()
    dates = ticks(store)
    assert len(dates) == len(set(dates)), "a tick fired twice"
    # missed ticks are recovered (ALL): the fired seconds form one unbroken run
    seconds = sorted(datetime.fromisoformat(d.replace("Z", "+00:00")) for d in dates)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(seconds)]
    assert all(gap == 1 for gap in gaps), gaps
    stuck = [
        e.id for e in store.executions.list(namespace="test.daemon", limit=10_000) if e.state == "RUNNING"
    ]
    assert not stuck  # the clean stop let them finish or released them; none is left running


def test_restart_recovers_executions_left_running_by_kill_9(
    flows: Path, home: Path, db_url: str, store: Store
) -> None:
    (flows / "long.yml").write_text(LONG)
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home)
    wait_for(lambda: deployed(store, "long"), "deployment")
    subprocess.run(
        [*FLOWD, "execute", "test.daemon/long", "--db", db_url, "--no-wait"],
        env={"FLOWD_HOME": str(home), "PATH": "/usr/bin"}, check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    wait_for(
        lambda: any(
            e.state == "RUNNING" for e in store.executions.list(namespace="test.daemon", flow_id="long")
        ),
        "the long execution to run",
    )
    (before,) = store.executions.list(namespace="test.daemon", flow_id="long")
    daemon.stop(signal.SIGKILL)
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home, extra=["--grace-period", "0s"])
    try:

        def adopted_and_rerun() -> bool:
            row = store.executions.get(before.id)
            runs = store.executions.list_task_runs(before.id)
            mine = row is not None and row.owner_id not in (None, before.owner_id)
            return mine and any(r.state == "RUNNING" and r.claimed_by == row.owner_id for r in runs)  # type: ignore[union-attr]

        wait_for(adopted_and_rerun, "the new daemon to adopt the execution and run its task again")
    finally:
        assert daemon.stop() == 0, daemon.output()
    final = store.executions.get(before.id)
    assert final is not None and final.state == "KILLED"  # grace 0 s: killed at the stop, never left RUNNING


def test_sigterm_kills_running_tasks_after_the_grace_period(
    flows: Path, home: Path, db_url: str, store: Store
) -> None:
    (flows / "long.yml").write_text(LONG)
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home, extra=["--grace-period", "1s"])
    wait_for(lambda: deployed(store, "long"), "deployment")
    subprocess.run(
        [*FLOWD, "execute", "test.daemon/long", "--db", db_url, "--no-wait"],
        env={"FLOWD_HOME": str(home), "PATH": "/usr/bin"}, check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    (execution,) = wait_for(
        lambda: store.executions.list(namespace="test.daemon", flow_id="long"), "execution"
    )

    def task_running() -> bool:
        return any(r.state == "RUNNING" for r in store.executions.list_task_runs(execution.id))

    wait_for(task_running, "the sleep task to start")
    assert daemon.stop(signal.SIGTERM) == 0, daemon.output()
    runs = store.executions.list_task_runs(execution.id)
    assert [r.state for r in runs] == ["KILLED"]
    final = store.executions.get(execution.id)
    assert final is not None and final.state == "KILLED"
    assert not store.heartbeats.alive(final.start_date, timedelta(days=1))  # removed on a clean exit
