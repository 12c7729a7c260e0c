"""Sequence cursors: the planner resumes a sequence where its ended prefix stops, never skipping a run that
became non-terminal again (a restart, a replaced run), and plans a long sequence with a number of visits
linear in its length.

The runs are the executor's own ``RunView``s in an ``ExecView``, so the cursors are forgotten by the same
code that forgets them in the executor (``RunView.move``, ``ExecView.add``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from daemon.engine import planner as P
from daemon.engine import states as S
from daemon.engine.planner import Cursors, Plan, TaskIndex, plan, run_key
from daemon.engine.view import ExecView, RunView
from daemon.language.model import Flow
from daemon.language.tasks_flow import Flowable, ForEachTask, IfTask, SwitchTask
from daemon.store.executions import Execution
from tests.engine.test_pure import T0, Run

VALUES = ["v0", "v1", "v2", "v3"]


def logs(prefix: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "type": "io.kestra.plugin.core.log.Log", "message": "x", **extra}
        for i in range(n)
    ]


def flow_index(tasks: list[dict[str, Any]], **lists: list[dict[str, Any]]) -> TaskIndex:
    return TaskIndex(Flow.model_validate({"id": "f", "namespace": "t", "tasks": tasks, **lists}))


class Sim:
    """A minimal executor over an ``ExecView``: creates the planned runs (RUNNING; flowables decided),
    finishes flowables, and lets the test end, reopen or replace runs."""

    def __init__(self, index: TaskIndex, rng: random.Random | None = None) -> None:
        execution = Execution(
            id="x", namespace="t", flow_id="f", flow_revision=1, state=S.RUNNING, start_date=T0
        )
        self.view = ExecView(execution=execution, index=index, state=S.RUNNING)
        self.rng = rng or random.Random(0)
        self.count = 0

    def plan(self) -> Plan:
        view = self.view
        return plan(view.index, view.runs.values(), by_key=view.by_key, cursors=view.cursors)

    def full(self) -> Plan:
        """What a planner rebuilding everything from the runs plans."""
        return plan(self.view.index, list(self.view.runs.values()))

    def apply(self, step: Plan) -> None:
        for run_id, state in step.finish:
            self.view.runs[run_id].move(state, T0)
        for new in step.create:
            self.add(new.task_id, new.parent_id, new.value, new.iteration)

    def add(self, task_id: str, parent_id: str | None, value: str | None, iteration: int | None) -> RunView:
        task = self.view.index[task_id]
        self.count += 1
        run = RunView(
            id=f"r{self.count}", task_id=task_id, parent_id=parent_id, value=value, iteration=iteration,
            state=S.CREATED, ready_at=T0,
        )  # fmt: skip
        self.view.add(run)
        run.move(S.RUNNING, T0)
        if isinstance(task, IfTask):
            run.meta = {"decided": True, "branch": self.rng.choice(["then", "else"])}
        elif isinstance(task, SwitchTask):
            run.meta = {"decided": True, "case": self.rng.choice([*task.cases, None])}
        elif isinstance(task, ForEachTask):
            run.meta = {"decided": True, "values": [str(v) for v in task.values]}
        elif isinstance(task, Flowable):
            run.meta = {"decided": True}
        return run

    def leaves(self, running: bool) -> list[RunView]:
        """Non-flowable runs, running or ended."""
        return [
            r
            for r in self.view.runs.values()
            if not isinstance(self.view.index[r.task_id], Flowable) and S.is_terminal(r.state) != running
        ]

    def run(self, task_id: str, iteration: int | None = None) -> RunView:
        found = [r for r in self.view.runs.values() if r.task_id == task_id and r.iteration == iteration]
        return found[-1]

    def settle(self, ends: dict[str, str] | None = None) -> Iterator[Plan]:
        """Plan and end every new leaf run (SUCCESS unless ``ends`` says otherwise) until the plan is empty
        or ends the execution; yields each plan."""
        ends = ends or {}
        while True:
            step = self.plan()
            yield step
            if step.end is not None:
                return
            self.apply(step)
            running = self.leaves(running=True)
            if step.empty and not running:
                return
            for run in running:
                run.move(ends.get(run.task_id, S.SUCCESS), T0)

    def reopen(self, run: RunView) -> None:
        """A restart: the ended run runs again."""
        run.move(S.RESTARTED, T0)
        run.move(S.RUNNING, T0)

    def replace(self, run: RunView) -> RunView:
        """A new try of the run under the same key (a flowable's whole-task retry)."""
        return self.add(run.task_id, run.parent_id, run.value, run.iteration)


def created(step: Plan) -> list[str]:
    return [c.task_id for c in step.create]


def run_until(sim: Sim, task_id: str, ends: dict[str, str] | None = None) -> None:
    """Plan and end the new runs until ``task_id`` has a run (which is left running)."""
    ends = ends or {}
    while not any(r.task_id == task_id for r in sim.view.runs.values()):
        step = sim.plan()
        assert not step.empty or sim.leaves(running=True), "stuck before " + task_id
        sim.apply(step)
        for run in sim.leaves(running=True):
            if run.task_id != task_id:
                run.move(ends.get(run.task_id, S.SUCCESS), T0)


def drain(sim: Sim, keep: RunView) -> None:
    """Plan and end every run but ``keep`` until nothing else is left to do."""
    while True:
        sim.apply(sim.plan())
        running = [r for r in sim.leaves(running=True) if r is not keep]
        if not running:
            assert sim.plan().empty
            return
        for run in running:
            run.move(S.SUCCESS, T0)


# --- a run that became non-terminal again is never skipped -------------------------------------------------
def test_restart_of_the_failed_run_in_the_middle_of_a_sequence() -> None:
    sim = Sim(flow_index(logs("a", 8), errors=logs("e", 4), finally_=logs("f", 4)))
    steps = list(sim.settle({"a3": S.FAILED}))
    assert steps[-1].end == S.FAILED  # a3 failed: errors and finally ran
    assert sim.view.cursors.seqs  # the main sequence, errors and finally have cursors
    sim.reopen(sim.run("a3"))  # the execution restarted from its failed task
    assert sim.plan().empty  # a3 runs again: nothing else to do, not ended
    sim.run("a3").move(S.SUCCESS, T0)
    assert created(sim.plan()) == ["a4"]
    steps = list(sim.settle())
    assert steps[-1].end == S.SUCCESS


def test_restart_of_a_run_before_the_last_ended_one() -> None:
    """The check at use sees only the last run of the prefix: a run before it is the view's to report."""
    sim = Sim(flow_index(logs("a", 8)))
    run_until(sim, "a5")
    sim.reopen(sim.run("a1"))
    assert sim.plan().empty  # a1 runs again; a5 is running: no a6 yet, and never before a1 ends
    sim.run("a5").move(S.SUCCESS, T0)
    assert sim.plan().empty
    sim.run("a1").move(S.SUCCESS, T0)
    assert created(sim.plan()) == ["a6"]


def test_a_run_replaced_under_its_key_is_not_skipped() -> None:
    sim = Sim(flow_index(logs("a", 8)))
    run_until(sim, "a5")
    sim.run("a5").move(S.SUCCESS, T0)
    assert created(sim.plan()) == ["a6"]  # (not applied) the cursor is past a5
    sim.replace(sim.run("a2"))  # a new try of a2 (a flowable's whole-task retry), running
    assert sim.plan().empty
    sim.run("a2").move(S.SUCCESS, T0)
    assert created(sim.plan()) == ["a6"]


def test_errors_branch_restarted() -> None:
    sim = Sim(flow_index(logs("a", 2), errors=logs("e", 6)))
    run_until(sim, "e4", {"a1": S.FAILED})
    sim.reopen(sim.run("e2"))
    sim.run("e4").move(S.SUCCESS, T0)
    assert sim.plan().empty  # e2 runs again: e5 waits
    sim.run("e2").move(S.SUCCESS, T0)
    assert created(sim.plan()) == ["e5"]


def test_finally_restarted() -> None:
    sim = Sim(flow_index(logs("a", 2), finally_=logs("f", 6)))
    steps = list(sim.settle())
    assert steps[-1].end == S.SUCCESS
    sim.reopen(sim.run("f5"))  # the last run of the finally sequence
    assert sim.plan().end is None
    sim.run("f5").move(S.FAILED, T0)
    assert sim.plan().end == S.FAILED


def test_restart_in_an_if_branch() -> None:
    idx = flow_index([{"id": "i", "type": "io.kestra.plugin.core.flow.If", "condition": "x",
                       "then": logs("t", 6), "else": logs("u", 6)}])  # fmt: skip
    sim = Sim(idx, random.Random(1))
    sim.apply(sim.plan())
    sim.run("i").meta["branch"] = "then"
    run_until(sim, "t4")
    sim.reopen(sim.run("t1"))
    sim.run("t4").move(S.SUCCESS, T0)
    assert sim.plan().empty
    sim.run("t1").move(S.WARNING, T0)
    step = sim.plan()
    assert created(step) == ["t5"]
    sim.apply(step)
    sim.run("t5").move(S.SUCCESS, T0)
    assert sim.plan().finish == [(sim.run("i").id, S.WARNING)]


def test_restart_in_a_sequential_inside_a_parallel() -> None:
    idx = flow_index([{"id": "p", "type": "io.kestra.plugin.core.flow.Parallel", "tasks": [
        {"id": "s", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": logs("s", 6)},
        {"id": "q", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": logs("q", 6)},
    ]}])  # fmt: skip
    sim = Sim(idx)
    run_until(sim, "s4")
    sim.reopen(sim.run("s2"))
    sim.run("s4").move(S.SUCCESS, T0)
    assert "s5" not in created(sim.plan())
    sim.run("s2").move(S.SUCCESS, T0)
    assert "s5" in created(sim.plan())


def test_restart_in_a_foreach_iteration() -> None:
    idx = flow_index(
        [{"id": "e", "type": "io.kestra.plugin.core.flow.ForEach", "values": VALUES, "concurrencyLimit": 1,
          "tasks": logs("b", 5)}]
    )  # fmt: skip
    sim = Sim(idx)
    run_until(sim, "b3")
    sim.run("b3", 0).move(S.SUCCESS, T0)
    step = sim.plan()
    assert created(step) == ["b4"]
    sim.apply(step)
    sim.run("b4", 0).move(S.SUCCESS, T0)
    step = sim.plan()
    assert [(c.task_id, c.iteration) for c in step.create] == [("b0", 1)]  # iteration 0 over
    sim.apply(step)
    b1 = sim.run("b1", 0)
    sim.reopen(b1)  # iteration 0 runs again: with concurrencyLimit 1, iteration 2 waits for it
    drain(sim, keep=b1)
    assert {r.iteration for r in sim.view.runs.values()} == {None, 0, 1}
    b1.move(S.SUCCESS, T0)
    assert [(c.task_id, c.iteration) for c in sim.plan().create] == [("b0", 2)]


def test_the_check_at_use_alone_catches_the_last_run_moved() -> None:
    """Runs the view does not watch (plain objects): a cursor whose last run moved is not used."""
    idx = flow_index(logs("a", 6))
    runs = [Run(f"r{i}", f"a{i}", S.SUCCESS) for i in range(4)]
    by_key = {run_key(r): r for r in runs}
    cursors = Cursors()
    assert created(plan(idx, runs, by_key=by_key, cursors=cursors)) == ["a4"]
    assert cursors.seqs[(None, None, "a0")].pos == 4
    runs[3].state = S.FAILED  # from one end to another: the cursor's combined state no longer holds
    assert plan(idx, runs, by_key=by_key, cursors=cursors).end == S.FAILED
    runs[3].state = S.RUNNING
    assert plan(idx, runs, by_key=by_key, cursors=cursors).empty
    runs[3].state = S.SUCCESS
    assert created(plan(idx, runs, by_key=by_key, cursors=cursors)) == ["a4"]
    replaced = Run("r9", "a3", S.RUNNING)  # a new run under a3's key
    runs.append(replaced)
    by_key[run_key(replaced)] = replaced
    assert plan(idx, runs, by_key=by_key, cursors=cursors).empty


def test_a_terminal_run_moving_forgets_the_cursors() -> None:
    sim = Sim(flow_index(logs("a", 6)))
    run_until(sim, "a3")
    before = sim.view.cursors.forgotten
    assert sim.view.cursors.seqs
    sim.run("a1").move(S.RESTARTED, T0)
    assert sim.view.cursors.forgotten == before + 1 and not sim.view.cursors.seqs
    sim.run("a3").move(S.FAILED, T0)
    sim.plan()
    assert sim.view.cursors.seqs
    sim.run("a3").move(S.RETRIED, T0)  # terminal to terminal: its effective state changed
    assert not sim.view.cursors.seqs
    sim.run("a0").move(S.SUCCESS, T0)  # no move (same state): kept
    assert sim.view.cursors.forgotten == before + 2


# --- the kept cursors plan as a full rebuild, whatever happens to the runs ---------------------------------
NESTED = flow_index(
    [
        *logs("a", 2),
        {"id": "skip", "type": "io.kestra.plugin.core.log.Log", "message": "x", "disabled": True},
        {"id": "i", "type": "io.kestra.plugin.core.flow.If", "condition": "x",
         "then": logs("t", 4), "else": logs("x", 5, allowFailure=True)},
        {"id": "p", "type": "io.kestra.plugin.core.flow.Parallel", "concurrent": 2, "tasks": [
            {"id": "s", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": logs("p", 4),
             "errors": logs("pe", 4), "finally": logs("pf", 4)},
            {"id": "q", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": logs("q", 4)},
            *logs("pl", 2),
        ]},
        {"id": "e", "type": "io.kestra.plugin.core.flow.ForEach", "values": VALUES, "concurrencyLimit": 2,
         "tasks": logs("b", 4)},
        {"id": "w", "type": "io.kestra.plugin.core.flow.Switch", "value": "x",
         "cases": {"k": logs("c", 4)}, "defaults": logs("d", 4)},
        *logs("z", 4),
    ],
    errors=logs("er", 5),
    finally_=logs("fi", 4),
)  # fmt: skip


@pytest.mark.parametrize("seed", range(12))
def test_kept_cursors_plan_as_a_full_rebuild_through_restarts_and_retries(seed: int) -> None:
    rng = random.Random(seed)
    sim = Sim(NESTED, rng)
    reopened = replaced = 0
    for step_no in range(3000):
        full, kept = sim.full(), sim.plan()
        assert (kept.create, kept.finish, kept.end) == (full.create, full.finish, full.end), step_no
        if kept.end is not None:
            break
        sim.apply(kept)
        running, ended = sim.leaves(running=True), sim.leaves(running=False)
        for run in rng.sample(running, k=min(len(running), rng.randint(1, 3))):
            run.move(rng.choices([S.SUCCESS, S.WARNING, S.FAILED], [20, 2, 1])[0], T0)
        ended = [r for r in ended if r.state != S.SKIPPED and sim.view.by_key[run_key(r)] is r]
        if ended and rng.random() < 0.08:
            sim.reopen(rng.choice(ended))
            reopened += 1
        elif ended and rng.random() < 0.04:
            sim.replace(rng.choice(ended))
            replaced += 1
    else:
        pytest.fail("the execution never ended")
    assert reopened and sim.view.cursors.forgotten >= reopened + replaced


# --- linear ----------------------------------------------------------------------------------------------
LONG = 1000
PLACES = {
    "tasks": lambda seq: flow_index(seq),
    "errors": lambda seq: flow_index(logs("boom", 1), errors=seq),
    "finally": lambda seq: flow_index(logs("a", 1), finally_=seq),
    "if": lambda seq: flow_index([{"id": "i", "type": "io.kestra.plugin.core.flow.If", "condition": "x",
                                   "then": seq, "else": logs("u", 1)}]),
    "parallel": lambda seq: flow_index([{"id": "p", "type": "io.kestra.plugin.core.flow.Parallel", "tasks": [
        {"id": "s", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": seq}, *logs("o", 1)]}]),
    "foreach": lambda seq: flow_index([{"id": "e", "type": "io.kestra.plugin.core.flow.ForEach",
                                        "values": ["only"], "tasks": seq}]),
}  # fmt: skip


@pytest.mark.parametrize("place", PLACES)
def test_a_long_sequence_is_planned_in_linear_visits(place: str, monkeypatch: pytest.MonkeyPatch) -> None:
    visits = 0
    visit = P._Planner._visit

    def counted(self: Any, run: Any, task: Any) -> str | None:
        nonlocal visits
        visits += 1
        return visit(self, run, task)

    monkeypatch.setattr(P._Planner, "_visit", counted)
    sim = Sim(PLACES[place](logs("n", LONG)), random.Random(0))
    dag_looks = 0
    is_dag = Flow.is_dag

    def looked(flow: Flow) -> bool:  # Flow.is_dag reads every top-level task: once per index, not per plan
        nonlocal dag_looks
        dag_looks += 1
        return bool(is_dag.fget(flow))  # type: ignore[attr-defined]

    monkeypatch.setattr(Flow, "is_dag", property(looked))
    if place == "if":
        sim.apply(sim.plan())
        sim.run("i").meta["branch"] = "then"
    steps = list(sim.settle({"boom0": S.FAILED}))
    assert steps[-1].end is not None
    assert sum(1 for r in sim.view.runs.values() if r.task_id.startswith("n")) == LONG
    # a few visits per task (the enclosing flowables' runs, the new run); a walk from the first task at
    # every step makes LONG * LONG / 2 = 500,000
    assert visits <= 8 * LONG, visits
    assert dag_looks == 0
