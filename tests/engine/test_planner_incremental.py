"""The incremental planner (a run index and a ForEach cursor kept between calls) plans exactly what the
planner rebuilding everything from the runs plans, step after step."""

from __future__ import annotations

import random

import pytest

from daemon.engine import states as S
from daemon.engine.planner import Cursors, Key, RunLike, plan, run_key
from tests.engine.test_pure import Run, index


@pytest.mark.parametrize("limit", [1, 3, 0])
@pytest.mark.parametrize("fail_at", [None, 17])
def test_kept_index_and_cursor_plan_as_a_full_rebuild(limit: int, fail_at: int | None) -> None:
    values = [f"v{i}" for i in range(40)]
    idx = index(
        "id: f\nnamespace: t\ntasks:\n  - id: e\n    type: io.kestra.plugin.core.flow.ForEach\n"
        f"    values: [{', '.join(values)}]\n    concurrencyLimit: {limit}\n    tasks:\n"
        "      - {id: a, type: io.kestra.plugin.core.log.Log, message: x}\n"
        "      - {id: b, type: io.kestra.plugin.core.log.Log, message: x}\n"
    )
    runs: list[Run] = [Run("e", "e", S.RUNNING, meta={"decided": True, "values": values})]
    by_key: dict[Key, RunLike] = {run_key(r): r for r in runs}
    cursors = Cursors()
    rng = random.Random(7)
    for step in range(1000):
        if step == 25:
            cursors = Cursors()  # a view reloaded from the store: its cursors are rebuilt from the runs
        full = plan(idx, runs)
        kept = plan(idx, runs, by_key=by_key, cursors=cursors)
        assert (kept.create, kept.finish, kept.end) == (full.create, full.finish, full.end), step
        if kept.finish:
            break
        for new in kept.create:
            run = Run(f"r{len(runs)}", new.task_id, S.RUNNING, new.parent_id, new.iteration, new.value)
            runs.append(run)
            by_key[run_key(run)] = run
        running = [r for r in runs if r.state == S.RUNNING and r.id != "e"]
        for run in rng.sample(running, k=min(len(running), rng.randint(1, 2))):  # some end, out of order
            run.state = S.FAILED if run.iteration == fail_at and run.task_id == "b" else S.SUCCESS
    else:
        pytest.fail("the ForEach never finished")
    assert kept.finish == [("e", S.FAILED if fail_at is not None else S.SUCCESS)]
