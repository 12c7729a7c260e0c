"""``retry`` on a flowable task and on a Subflow runs it again whole (Kestra): the failed run ends RETRIED, a
new run of the task starts after the delay with new children (or a new subflow execution), attempts kept."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.engine import states as S
from daemon.engine.executor import STALE_AFTER
from daemon.store import Store
from tests.engine.conftest import Harness, deploy
from tests.engine.test_fencing import AheadClock, executor

pytestmark = pytest.mark.integration


def fails_once(marker: Path) -> str:
    """A shell task failing the first time it runs (it leaves ``marker``), then succeeding."""
    return (
        "{id: flaky, type: io.kestra.plugin.scripts.shell.Commands, "
        "taskRunner: {type: io.kestra.plugin.core.runner.Process}, "
        f"commands: ['if [ -f {marker} ]; then exit 0; fi; touch {marker}; exit 1']}}"
    )


def by_task(harness: Harness, execution_id: str, task_id: str) -> list[str]:
    return [r.state for r in harness.runs(execution_id, task_id)]


def test_a_sequential_whose_child_fails_runs_again_whole(harness: Harness, tmp_path: Path) -> None:
    ex = harness.run(f"""
id: seq
namespace: test.whole
tasks:
  - id: block
    type: io.kestra.plugin.core.flow.Sequential
    retry: {{type: constant, interval: PT0.05S, maxAttempt: 3}}
    tasks:
      - {{id: before, type: io.kestra.plugin.core.log.Log, message: "try"}}
      - {fails_once(tmp_path / "m")}
  - {{id: after, type: io.kestra.plugin.core.log.Log, message: done}}
""")
    assert ex.state == S.SUCCESS
    assert by_task(harness, ex.id, "block") == [S.RETRIED, S.SUCCESS]
    assert by_task(harness, ex.id, "before") == [S.SUCCESS, S.SUCCESS]  # the whole block ran again
    assert sorted(by_task(harness, ex.id, "flaky")) == [S.FAILED, S.SUCCESS]
    last = harness.runs(ex.id, "block")[-1]
    assert [a["state"] for a in last.attempts] == [S.FAILED]  # the earlier try, recorded
    assert by_task(harness, ex.id, "after") == [S.SUCCESS]


def test_a_flowable_retried_in_the_middle_of_long_sequences(harness: Harness, tmp_path: Path) -> None:
    """With the planner's sequence cursors in use (sequences of 4 tasks or more, here the flow's and the
    block's): the block's next try replaces it under its key, its children all run again under the new
    run, and the flow's sequence goes on after the block once."""

    def logs(prefix: str, n: int, indent: str) -> str:
        return "".join(
            f"{indent}- {{id: {prefix}{i}, type: io.kestra.plugin.core.log.Log, message: x}}\n"
            for i in range(n)
        )

    ex = harness.run(
        "id: longseq\nnamespace: test.whole\ntasks:\n"
        + logs("a", 5, "  ")
        + "  - id: block\n    type: io.kestra.plugin.core.flow.Sequential\n"
        + "    retry: {type: constant, interval: PT0.05S, maxAttempt: 3}\n    tasks:\n"
        + logs("in", 4, "      ")
        + f"      - {fails_once(tmp_path / 'm')}\n"
        + logs("tail", 1, "      ")
        + logs("z", 5, "  ")
    )
    assert ex.state == S.SUCCESS
    assert by_task(harness, ex.id, "block") == [S.RETRIED, S.SUCCESS]
    for task_id in ("in0", "in3"):
        assert by_task(harness, ex.id, task_id) == [S.SUCCESS, S.SUCCESS]  # the whole block ran again
    assert by_task(harness, ex.id, "tail0") == [S.SUCCESS]
    for task_id in ("a0", "a4", "z0", "z4"):
        assert by_task(harness, ex.id, task_id) == [S.SUCCESS]


def test_warning_on_retry_marks_a_flowable_that_needed_a_retry(harness: Harness, tmp_path: Path) -> None:
    ex = harness.run(f"""
id: warned
namespace: test.whole
tasks:
  - id: block
    type: io.kestra.plugin.core.flow.Sequential
    retry: {{type: constant, interval: PT0.01S, maxAttempt: 2, warningOnRetry: true}}
    tasks:
      - {fails_once(tmp_path / "m")}
""")
    assert by_task(harness, ex.id, "block") == [S.RETRIED, S.WARNING]
    assert ex.state == S.WARNING


def test_a_flowable_out_of_attempts_fails(harness: Harness) -> None:
    ex = harness.run("""
id: iffy
namespace: test.whole
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    retry: {type: constant, interval: PT0.01S, maxAttempt: 2}
    then:
      - {id: boom, type: io.kestra.plugin.core.execution.Fail}
""")
    assert ex.state == S.FAILED
    assert by_task(harness, ex.id, "check") == [S.RETRIED, S.FAILED]
    assert by_task(harness, ex.id, "boom") == [S.FAILED, S.FAILED]


def test_a_failed_subflow_runs_again_as_a_new_execution(harness: Harness, tmp_path: Path) -> None:
    deploy(
        harness.store,
        f"""
id: child
namespace: test.whole
tasks:
  - {fails_once(tmp_path / "m")}
""",
    )
    ex = harness.run("""
id: parent
namespace: test.whole
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: test.whole
    flowId: child
    retry: {type: constant, interval: PT0.05S, maxAttempt: 2}
""")
    assert ex.state == S.SUCCESS
    runs = harness.runs(ex.id, "call")
    assert [r.state for r in runs] == [S.RETRIED, S.SUCCESS]
    children = harness.store.executions.list(namespace="test.whole", flow_id="child")
    assert sorted(c.state for c in children) == [S.FAILED, S.SUCCESS]
    assert runs[-1].outputs is not None and runs[-1].outputs["state"] == S.SUCCESS


def test_a_try_waiting_for_its_delay_survives_a_takeover(store: Store, tmp_path: Path) -> None:
    record = deploy(
        store,
        f"""
id: wait
namespace: test.whole
tasks:
  - id: block
    type: io.kestra.plugin.core.flow.Sequential
    retry: {{type: constant, interval: PT10S, maxAttempt: 2}}
    tasks:
      - {{id: before, type: io.kestra.plugin.core.log.Log, message: "try"}}
      - {fails_once(tmp_path / "m")}
""",
    )
    a = executor(store, tmp_path, "A")
    b = executor(store, tmp_path, "B", AheadClock(STALE_AFTER + timedelta(seconds=5)))

    async def scenario() -> str:
        execution_id = a.create_execution(record, {})
        driver = asyncio.ensure_future(a.run_until_done(execution_id))
        while S.RETRYING not in [r.state for r in store.executions.list_task_runs(execution_id)]:
            await asyncio.sleep(0.01)
        driver.cancel()  # A stops while the next try waits
        with contextlib.suppress(asyncio.CancelledError):
            await driver
        assert b.recover() == [execution_id]
        ended = await asyncio.wait_for(b.run_until_done(execution_id), 30)
        assert ended.state == S.SUCCESS
        return execution_id

    execution_id = asyncio.run(scenario())
    runs = store.executions.list_task_runs(execution_id)
    assert [r.state for r in runs if r.task_id == "block"] == [S.RETRIED, S.SUCCESS]
    assert [r.state for r in runs if r.task_id == "before"] == [S.SUCCESS, S.SUCCESS]
