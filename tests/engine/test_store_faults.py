"""Fault injection at every write point of a step: the executor keeps going, the execution ends as it
would have without the fault, with no duplicate rows; an execution whose writes always fail is failed with
the reason (poison quarantine) while the others finish; illegal state moves are refused in memory and in
SQL; a kill cascades to subflow children."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DataError, OperationalError

from daemon.engine import states as S
from daemon.engine.states import IllegalTransition
from daemon.engine.view import ExecView, RunView
from daemon.store import Store, TaskRunUpdate
from tests.engine.conftest import NOW, Harness, deploy

pytestmark = pytest.mark.integration


def flow(side: Path) -> str:
    return f"""
id: steps
namespace: test.faults
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - echo attempt >> {side}
      - echo output-line
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.first.value }}}}-{{{{ outputs.work.exitCode }}}}"
"""


def inject(
    target: Any,
    name: str,
    times: int,
    when: Callable[..., bool] = lambda *a, **k: True,
    error: Callable[[], Exception] = lambda: OperationalError(
        "injected", {}, Exception("database is locked")
    ),
) -> list[int]:
    """Make ``target.name`` raise ``error()`` (a transient store error by default) the next ``times`` calls
    matching ``when``."""
    real = getattr(target, name)
    raised = [0]

    def failing(*args: Any, **kwargs: Any) -> Any:
        if raised[0] < times and when(*args, **kwargs):
            raised[0] += 1
            raise error()
        return real(*args, **kwargs)

    setattr(target, name, failing)
    return raised


WRITE_POINTS = [
    ("executions", "fence"),
    ("executions", "insert_task_runs"),
    ("executions", "update_task_runs"),
    ("executions", "set_states"),  # the step's execution state changes, sent together
    ("logs", "insert"),
]


@pytest.mark.parametrize("times", [1, 2], ids=["once", "twice"])
@pytest.mark.parametrize(("repo", "method"), WRITE_POINTS, ids=[m for _, m in WRITE_POINTS])
def test_a_failed_write_at_any_point_of_a_step_converges(
    store: Store, tmp_path: Path, repo: str, method: str, times: int
) -> None:
    harness = Harness(store, tmp_path / "home")
    side = tmp_path / "side.txt"
    record = deploy(store, flow(side))
    execution_id = harness.executor.create_execution(record, {})
    raised = inject(getattr(store, repo), method, times)  # from the first loop step on
    row = asyncio.run(asyncio.wait_for(harness.executor.run_until_done(execution_id), 60))
    assert raised[0] == times  # the fault did happen
    assert row.state == S.SUCCESS
    runs = harness.runs(execution_id)
    assert sorted(r.task_id for r in runs) == ["first", "last", "work"]  # no duplicate rows
    assert {r.task_id: r.state for r in runs} == {"first": "SUCCESS", "work": "SUCCESS", "last": "SUCCESS"}
    assert next(r for r in runs if r.task_id == "last").outputs == {"value": "one-0"}
    stored = store.executions.get(execution_id)
    assert stored is not None
    assert [h["state"] for h in stored.histories if S.is_terminal(h["state"])] == [S.SUCCESS]
    # the shell attempt ran once and its outcome was applied (again, after a reload) once
    work = next(r for r in runs if r.task_id == "work")
    assert len(work.attempts) == 1 and side.read_text().count("attempt") == 1
    assert any("output-line" in line for line in harness.logs(execution_id))  # its output is not lost


def test_an_execution_whose_writes_always_fail_is_quarantined(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    good = deploy(store, flow(tmp_path / "good.txt"))
    bad = deploy(store, flow(tmp_path / "bad.txt").replace("id: steps", "id: poisoned"))
    good_id = harness.executor.create_execution(good, {})
    bad_id = harness.executor.create_execution(bad, {})

    def poisoned(runs: list[Any], **_: Any) -> bool:  # any write of the poisoned execution's new runs
        return any(r.execution_id == bad_id for r in runs)

    # what PostgreSQL says of a NUL byte in a text field: an error of this execution's data, every time
    nul = lambda: DataError("injected", {}, Exception("invalid byte sequence for encoding UTF8: 0x00"))  # noqa: E731
    inject(store.executions, "insert_task_runs", 1000, poisoned, nul)

    async def both() -> list[Any]:
        return list(
            await asyncio.gather(
                harness.executor.run_until_done(good_id), harness.executor.run_until_done(bad_id)
            )
        )

    good_row, bad_row = asyncio.run(asyncio.wait_for(both(), 60))
    assert good_row.state == S.SUCCESS
    assert bad_row.state == S.FAILED
    assert any("poison quarantine" in line and "0x00" in line for line in harness.logs(bad_id))
    assert not any(S.is_terminal(r.state) is False for r in harness.runs(bad_id))
    assert bad_id not in harness.executor.views


def test_a_store_outage_is_waited_out_not_quarantined(store: Store, tmp_path: Path) -> None:
    """Transient store errors (the server restarting) in more steps in a row than the poison threshold:
    the execution is reloaded and finishes, it is not failed."""
    harness = Harness(store, tmp_path / "home")
    side = tmp_path / "side.txt"
    execution_id = harness.executor.create_execution(deploy(store, flow(side)), {})
    raised = inject(store.executions, "insert_task_runs", 8)
    row = asyncio.run(asyncio.wait_for(harness.executor.run_until_done(execution_id), 60))
    assert raised[0] == 8
    assert row.state == S.SUCCESS
    assert sorted(r.task_id for r in harness.runs(execution_id)) == ["first", "last", "work"]
    assert side.read_text().count("attempt") == 1


def test_illegal_moves_are_refused_in_memory() -> None:
    run = RunView(
        id="r", task_id="t", parent_id=None, value=None, iteration=None, state=S.SUCCESS, ready_at=NOW
    )
    with pytest.raises(IllegalTransition):
        run.move(S.RUNNING, NOW)
    assert run.state == S.SUCCESS and run.histories == []
    view = ExecView(execution=None, index=None, state=S.KILLED)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition):
        view.move(S.RUNNING)


def test_illegal_moves_are_refused_in_sql(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    row = harness.run(
        "id: done\nnamespace: test.faults\n"
        "tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: x}\n"
    )
    me = harness.executor.worker_id
    # an ended execution does not go back to RUNNING: the guard names the allowed predecessors
    predecessors = [s for s, targets in S.TRANSITIONS.items() if S.RUNNING in targets]
    assert not store.executions.set_state(row.id, S.RUNNING, date=NOW, only_from=predecessors, fence=(me, 0))
    assert not store.executions.set_state(row.id, S.FAILED, date=NOW, only_from=[S.RUNNING], fence=(me, 99))
    (run,) = harness.runs(row.id)
    stale = TaskRunUpdate(
        id=run.id, state=S.RUNNING, histories=[], attempts=[], prev_state=S.RUNNING, epoch=0
    )  # it is SUCCESS in the store, not RUNNING
    assert store.executions.update_task_runs([stale], owner_id=me) == 0
    assert store.executions.get_task_run(run.id).state == S.SUCCESS  # type: ignore[union-attr]


def test_killing_a_parent_kills_its_subflow_children(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    deploy(
        store,
        """
id: child
namespace: test.faults
tasks:
  - id: long
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    commands: [sleep 30]
""",
    )
    parent = deploy(
        store,
        """
id: parent
namespace: test.faults
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: test.faults
    flowId: child
    wait: true
""",
    )
    executor = harness.executor

    async def scenario() -> tuple[str, str]:
        parent_id = executor.create_execution(parent, {})
        driver = asyncio.ensure_future(executor.run_until_done(parent_id))
        while True:
            children = store.executions.list(parent_execution_id=parent_id)
            if children and any(r.state == S.RUNNING for r in harness.runs(children[0].id)):
                break
            await asyncio.sleep(0.02)
        assert executor.kill(parent_id)
        await asyncio.wait_for(driver, 30)
        child_id = children[0].id
        await asyncio.wait_for(executor.run_until_done(child_id), 30)
        return parent_id, child_id

    parent_id, child_id = asyncio.run(scenario())
    assert store.executions.get(parent_id).state == S.KILLED  # type: ignore[union-attr]
    assert store.executions.get(child_id).state == S.KILLED  # type: ignore[union-attr]
