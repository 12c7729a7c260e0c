"""``flowd backfill``: one execution per tick in [start, end), idempotent, usage errors exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.backfill import command
from daemon.reconcile import Reconciler
from daemon.sources import LocalFolderSource
from daemon.store import Store

FLOW = """
id: nightly
namespace: test.backfill
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "for {{ trigger.date }}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
    timezone: Europe/Paris
"""


@pytest.fixture
def deployed(store: Store, db_url: str, tmp_path: Path, flowd_home: Path) -> str:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "nightly.yml").write_text(FLOW)
    assert Reconciler(store, LocalFolderSource(folder)).sync().result == "SUCCESS"
    return db_url


def invoke(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, [*args, "--db", db_url])
    return result.exit_code, result.output


def dates(store: Store) -> list[str]:
    rows = store.executions.list(namespace="test.backfill", flow_id="nightly", limit=100)
    return sorted((r.trigger or {})["variables"]["date"] for r in rows)


def test_runs_one_execution_per_tick_and_is_idempotent(deployed: str, store: Store) -> None:
    code, output = invoke(deployed, "test.backfill/nightly", "--start", "2024-03-01", "--end", "2024-03-04")
    assert code == 0, output
    assert dates(store) == [f"2024-03-0{d}T02:00:00+01:00" for d in (1, 2, 3)]  # zone-less: Paris time
    states = {r.state for r in store.executions.list(namespace="test.backfill", flow_id="nightly")}
    assert states == {"SUCCESS"}
    code, output = invoke(deployed, "test.backfill/nightly", "--start", "2024-03-01", "--end", "2024-03-05")
    assert code == 0, output
    assert "1 created, 3 done before" in output
    assert len(dates(store)) == 4


def test_hands_executions_to_a_live_daemon(deployed: str, store: Store) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    store.heartbeats.beat("some-daemon", host="h", pid=1, started_at=now, now=now)
    code, output = invoke(
        deployed, "test.backfill/nightly", "--start", "2024-03-01T00:00Z", "--end", "2024-03-02T00:00Z"
    )
    assert code == 0, output
    (row,) = store.executions.list(namespace="test.backfill", flow_id="nightly")
    assert row.state == "CREATED" and row.owner_id is None  # left for the daemon to adopt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["test.backfill/nightly", "--start", "2024-03-02", "--end", "2024-03-01"], "before"),
        (["test.backfill/nightly", "--start", "yesterday", "--end", "2024-03-01"], "ISO-8601"),
        (["test.backfill/nightly", "--start", "2024-03-01", "--end", "2024-03-02", "--trigger", "x"], "x"),
        (["nightly", "--start", "2024-03-01", "--end", "2024-03-02"], "NAMESPACE/FLOW_ID"),
        (["test.backfill/nope", "--start", "2024-03-01", "--end", "2024-03-02"], "not deployed"),
    ],
)
def test_usage_errors_exit_2(deployed: str, store: Store, args: list[str], message: str) -> None:
    code, output = invoke(deployed, *args)
    assert code == 2 and message in output
    assert store.executions.list(namespace="test.backfill") == []


def test_prints_each_execution_id_with_its_tick_date(deployed: str, store: Store) -> None:
    code, output = invoke(deployed, "test.backfill/nightly", "--start", "2024-03-01", "--end", "2024-03-03")
    assert code == 0, output
    rows = store.executions.list(namespace="test.backfill", flow_id="nightly")
    printed = {line.split()[0]: line.split()[1] for line in output.splitlines() if line.split()[0] in
               {r.id for r in rows}}  # fmt: skip
    assert printed == {r.id: (r.trigger or {})["variables"]["date"] for r in rows}


def test_skips_the_ticks_its_conditions_reject(
    store: Store, tmp_path: Path, flowd_home: Path, db_url: str
) -> None:
    """Kestra replays a schedule with its conditions: a weekdays-only backfill skips the weekend."""
    folder = tmp_path / "weekdays"
    folder.mkdir()
    conditions = (
        "    conditions:\n      - type: io.kestra.plugin.core.condition.Not\n"
        "        conditions:\n          - type: io.kestra.plugin.core.condition.Weekend\n"
    )
    (folder / "nightly.yml").write_text(FLOW.lstrip() + conditions)
    assert Reconciler(store, LocalFolderSource(folder)).sync().result == "SUCCESS"
    code, output = invoke(db_url, "test.backfill/nightly", "--start", "2024-03-01", "--end", "2024-03-05")
    assert code == 0, output
    # 2024-03-01 is a Friday, 03-04 a Monday
    assert dates(store) == ["2024-03-01T02:00:00+01:00", "2024-03-04T02:00:00+01:00"]
