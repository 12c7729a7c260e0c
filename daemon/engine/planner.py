"""The execution state machine: given a flow and the task runs so far, what happens next. Pure.

Every task, flowable ones included, becomes a task run. A flowable's run is RUNNING once the executor has
taken its decision (If branch, Switch case, ForEach values), stored in ``meta``; the planner then creates its
children and, when they are all done, finishes it. Runs are found by ``(parent run id, task id,
iteration)``: task ids are unique in a flow, and only ForEach distinguishes children by iteration.

The executor calls ``plan`` after every change and applies the actions until none is left. It keeps the
run index (``by_key``) and the cursors (``Cursors``: one per ForEach run, one per sequence) in its view of
the execution and passes them in, so a step costs what changed, not every run so far: a sequence of n tasks
and a sequential ForEach over n values are planned in linear time, not quadratic.

A cursor only records what the runs showed: the prefix of a sequence (or the ForEach iterations) found
over. It stays true while no run of it leaves its terminal state and no run is replaced under its key; the
view forgets every cursor when either happens (``Cursors.forget``, called by ``view.RunView.move`` and
``ExecView.add``), and a sequence's cursor is also checked at use (its last run still indexed and terminal).
A missing cursor costs one full walk, never a wrong plan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from daemon.engine import states as S
from daemon.language.model import Flow
from daemon.language.task_base import TaskBase
from daemon.language.tasks_core import PauseTask
from daemon.language.tasks_flow import (
    AllowFailureTask,
    DagTask,
    Flowable,
    ForEachTask,
    IfTask,
    ParallelTask,
    SwitchTask,
)

BAD = frozenset({S.FAILED, S.KILLED, S.CANCELLED})
Key = tuple[str | None, str, int | None]
# a sequence: (parent run id, iteration, id of its first task); task ids are unique in a flow, so the first
# task names the list (flow tasks / errors / finally / afterExecution, a branch, a case, a flowable's body)
SeqKey = tuple[str | None, int | None, str]
# sequences shorter than this are walked: for them the walk costs less than keeping a cursor
SEQ_CURSOR_MIN = 4


class RunLike(Protocol):
    """What the planner reads of a task run."""

    @property
    def id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def iteration(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class NewRun:
    """A task run to create."""

    task_id: str
    parent_id: str | None
    value: str | None
    iteration: int | None


@dataclass
class Plan:
    """What to do next: create runs, finish flowable runs, end the execution."""

    create: list[NewRun] = field(default_factory=list)
    finish: list[tuple[str, str]] = field(default_factory=list)  # (run id, state)
    end: str | None = None

    @property
    def empty(self) -> bool:
        return not self.create and not self.finish and self.end is None


@dataclass
class ForEachCursor:
    """How far a ForEach run is: iterations below ``done`` are all over (their combined state ``worst``,
    ``failed`` if one is BAD); iterations from ``high`` on have not started (they start in order)."""

    done: int = 0
    high: int = 0
    worst: str = S.SUCCESS
    failed: bool = False


@dataclass(slots=True)
class SeqCursor:
    """How far a sequence is: ``tasks[:pos]`` are disabled or have terminal runs, none BAD except perhaps
    the last; ``worst`` is the combined effective state of those runs (the sequence's end state once
    ``pos`` is its length or ``worst`` is BAD); ``last`` is the last of those runs and ``last_state`` the
    state it had (checked at use)."""

    pos: int
    worst: str
    last: RunLike | None
    last_state: str | None


@dataclass
class Cursors:
    """The planner's memory of one execution between calls, kept by its view: a ``ForEachCursor`` per
    ForEach run (by run id) and a ``SeqCursor`` per sequence (by ``SeqKey``)."""

    for_each: dict[str, ForEachCursor] = field(default_factory=dict)
    seqs: dict[SeqKey, SeqCursor] = field(default_factory=dict)
    forgotten: int = 0  # how many times ``forget`` dropped them (tests, diagnostics)

    def forget(self) -> None:
        """Drop every cursor: a run left its terminal state or was replaced, so what they skip may no
        longer be over. The next ``plan`` walks from the start and builds them again."""
        if self.for_each or self.seqs:
            self.for_each.clear()
            self.seqs.clear()
        self.forgotten += 1


class TaskIndex:
    """Tasks of a flow by id (built once per flow revision)."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.tasks: dict[str, TaskBase] = {t.id: t for t in flow.all_tasks()}
        self.has_pause = any(t.type.endswith(".Pause") for t in self.tasks.values())
        # read at every plan: ``Flow.is_dag`` looks at every top-level task (quadratic over a sequence)
        self.is_dag = flow.is_dag
        self.dag_deps = {t.id: list(t.dependsOn) for t in flow.tasks} if self.is_dag else {}

    def __getitem__(self, task_id: str) -> TaskBase:
        return self.tasks[task_id]


def effective_state(run_state: str, task: TaskBase) -> str:
    """The state a run counts as for its parent: ``allowFailure`` turns FAILED into WARNING,
    ``allowWarning`` turns WARNING into SUCCESS."""
    if run_state == S.FAILED and task.allowFailure:
        return S.WARNING
    if run_state == S.WARNING and task.allowWarning:
        return S.SUCCESS
    return run_state


def provisional_state(index: TaskIndex, runs: Sequence[RunLike]) -> str:
    """The state the execution would end in now, judged from finished top-level runs (task ``conditions``)."""
    done = [effective_state(r.state, index[r.task_id]) for r in runs if S.is_terminal(r.state)]
    return S.worst(done)


def run_key(run: RunLike) -> Key:
    """How the planner finds a run: (parent run id, task id, iteration)."""
    return (run.parent_id, run.task_id, run.iteration)


def plan(
    index: TaskIndex,
    runs: Collection[RunLike],
    *,
    stopping: str | None = None,
    ended: str | None = None,
    by_key: Mapping[Key, RunLike] | None = None,
    cursors: Cursors | None = None,
) -> Plan:
    """The next actions for an execution. ``stopping`` (KILLED, or an Exit task's state) means no new work:
    the execution ends in that state once every run is terminal. ``ended`` (the execution's end state)
    plans only the flow's ``afterExecution`` tasks, which run once the execution ended; ``end`` is then
    ``ended`` again when they are done (they never change it). ``by_key`` (the runs indexed by
    ``run_key``) and ``cursors`` (kept between calls, updated here) spare rebuilding them from ``runs``; the
    caller keeps them true to ``runs`` (``Cursors.forget`` when a run leaves a terminal state or is
    replaced)."""
    if by_key is None:
        by_key = {run_key(r): r for r in runs}
    return _Planner(index, runs, stopping, ended, by_key, Cursors() if cursors is None else cursors).run()


class _Planner:
    def __init__(
        self,
        index: TaskIndex,
        runs: Collection[RunLike],
        stopping: str | None,
        ended: str | None,
        by_key: Mapping[Key, RunLike],
        cursors: Cursors,
    ) -> None:
        self.index = index
        self.runs = runs
        self.stopping = stopping
        self.ended = ended
        self.by_key = by_key
        self.cursors: MutableMapping[str, ForEachCursor] = cursors.for_each
        self.seqs: MutableMapping[SeqKey, SeqCursor] = cursors.seqs
        self.out = Plan()

    def run(self) -> Plan:
        if self.stopping is not None:
            if all(S.is_terminal(r.state) for r in self.runs):
                self.out.end = self.stopping
            return self.out
        flow = self.index.flow
        if self.ended is not None:
            if self._seq(flow.afterExecution, None, None, None) is not None:
                self.out.end = self.ended
            return self.out
        if self.index.is_dag:
            main = self._dag(flow.tasks, self.index.dag_deps, None, None, None, 0)
        else:
            main = self._seq(flow.tasks, None, None, None)
        if main is None:
            return self.out
        state = main
        if main in BAD and flow.errors and self._seq(flow.errors, None, None, None) is None:
            return self.out
        if flow.finally_:
            fin = self._seq(flow.finally_, None, None, None)
            if fin is None:
                return self.out
            if fin in BAD and state not in BAD:
                state = S.FAILED
        self.out.end = state
        return self.out

    # --- blocks -----------------------------------------------------------------------------------------
    def _lookup(self, task: TaskBase, parent: RunLike | None, iteration: int | None) -> RunLike | None:
        return self.by_key.get((parent.id if parent else None, task.id, iteration))

    def _create(
        self, task: TaskBase, parent: RunLike | None, value: str | None, iteration: int | None
    ) -> None:
        self.out.create.append(NewRun(task.id, parent.id if parent else None, value, iteration))

    def _visit(self, run: RunLike, task: TaskBase) -> str | None:
        """A run's effective state when terminal; else None (after planning inside it, if flowable)."""
        if S.is_terminal(run.state):
            return effective_state(run.state, task)
        if isinstance(task, Flowable) and run.state == S.RUNNING and "decided" in run.meta:
            self._flowable(run, task)
        elif isinstance(task, PauseTask) and run.state == S.RUNNING and "decided" in run.meta:
            state = self._seq(task.tasks, run, _value_of(run), run.iteration)  # after the pause (deprecated)
            if state is not None:
                self.out.finish.append((run.id, state))
        return None

    def _seq(
        self, tasks: Sequence[TaskBase], parent: RunLike | None, value: str | None, iteration: int | None
    ) -> str | None:
        """A sequence's end state, or None (after creating its next run, or planning inside the running
        one). Resumes from its cursor: the tasks found over at an earlier call are not visited again."""
        pos, worst, last = 0, S.SUCCESS, None
        key: SeqKey | None = None
        count = len(tasks)
        if count >= SEQ_CURSOR_MIN:
            key = (parent.id if parent else None, iteration, tasks[0].id)
            cursor = self.seqs.get(key)
            if cursor is not None:
                if self._holds(cursor):
                    pos, worst, last = cursor.pos, cursor.worst, cursor.last
                    if pos == count or worst in BAD:
                        return worst
                else:
                    del self.seqs[key]
        start = pos
        result: str | None = None
        while True:
            if pos == count:
                result = worst
                break
            task = tasks[pos]
            if task.disabled:
                pos += 1
                continue
            run = self._lookup(task, parent, iteration)
            if run is None:
                self._create(task, parent, value, iteration)
                break
            state = self._visit(run, task)
            if state is None:
                break
            pos, last = pos + 1, run
            # S.worst folds: the prefix's worst and this state give the worst of all (BAD outranks OK)
            worst = S.worst((worst, state))
            if state in BAD:
                result = state
                break
        if key is not None and pos > start:
            self.seqs[key] = SeqCursor(pos, worst, last, last.state if last is not None else None)
        return result

    def _holds(self, cursor: SeqCursor) -> bool:
        """Whether a cursor still describes the runs: its last run is still the one indexed under its key
        and in the (terminal) state it had. The view forgets cursors when any run leaves a terminal state
        or is replaced; this is the check at use, in case a change went around it."""
        last = cursor.last
        return last is None or (last.state == cursor.last_state and self.by_key.get(run_key(last)) is last)

    def _parallel(
        self,
        tasks: Sequence[TaskBase],
        parent: RunLike | None,
        value: str | None,
        iteration: int | None,
        limit: int,
    ) -> str | None:
        return self._dag(tasks, {}, parent, value, iteration, limit)

    def _dag(
        self,
        tasks: Sequence[TaskBase],
        deps: Mapping[str, list[str]],
        parent: RunLike | None,
        value: str | None,
        iteration: int | None,
        limit: int,
    ) -> str | None:
        done: dict[str, str] = {}
        active = 0
        pending: list[TaskBase] = []
        for task in tasks:
            if task.disabled:
                done[task.id] = S.SKIPPED
                continue
            run = self._lookup(task, parent, iteration)
            if run is None:
                pending.append(task)
                continue
            state = self._visit(run, task)
            if state is None:
                active += 1
            else:
                done[task.id] = state
        failed = any(s in BAD for s in done.values())
        if not failed:
            ready = [t for t in pending if all(done.get(d) in S.OK for d in deps.get(t.id, []))]
            blocked = any(any(done.get(d) in BAD for d in deps.get(t.id, [])) for t in pending)
            slots = len(ready) if limit <= 0 else max(limit - active, 0)
            for task in ready[:slots]:
                self._create(task, parent, value, iteration)
                active += 1
            if blocked and active == 0:
                return S.FAILED
        if active:
            return None
        if pending and not failed:
            return None  # waiting on dependencies that are still to come (cannot happen in a valid DAG)
        return S.worst(done.values())

    # --- flowables --------------------------------------------------------------------------------------
    def _flowable(self, run: RunLike, task: Flowable) -> None:
        value = _value_of(run)
        body = self._body(run, task, value)
        if body is None:
            return
        state = body
        if body in BAD and task.errors and self._seq(task.errors, run, value, run.iteration) is None:
            return
        if task.finally_:
            fin = self._seq(task.finally_, run, value, run.iteration)
            if fin is None:
                return
            if fin in BAD and state not in BAD:
                state = S.FAILED
        if isinstance(task, AllowFailureTask) and state == S.FAILED:
            state = S.WARNING
        self.out.finish.append((run.id, state))

    def _body(self, run: RunLike, task: Flowable, value: str | None) -> str | None:
        meta = run.meta
        if isinstance(task, IfTask):
            branch = task.then if meta.get("branch") == "then" else task.else_
            return self._seq(branch, run, value, run.iteration)
        if isinstance(task, SwitchTask):
            case = meta.get("case")
            tasks = task.cases.get(case, task.defaults) if case is not None else task.defaults
            return self._seq(tasks, run, value, run.iteration)
        if isinstance(task, ForEachTask):
            return self._for_each(run, task, meta.get("values") or [])
        if isinstance(task, ParallelTask):
            return self._parallel(task.tasks, run, value, run.iteration, task.concurrent or 0)
        if isinstance(task, DagTask):
            deps = {e.task.id: list(e.dependsOn) for e in task.tasks}
            return self._dag(
                [e.task for e in task.tasks], deps, run, value, run.iteration, task.concurrent or 0
            )
        tasks = task.body()[0] if task.body() else []
        return self._seq(tasks, run, value, run.iteration)

    def _for_each(self, run: RunLike, task: ForEachTask, values: Sequence[str]) -> str | None:
        """Iterations run up to ``concurrencyLimit`` at a time, in order. The cursor skips the iterations
        known to be over and stops the scan where the not-started ones begin."""
        limit = task.concurrencyLimit
        cursor = self.cursors.get(run.id)
        if cursor is None:  # first look (or a reloaded view): where the started iterations end
            started = [i for i in range(len(values)) if any(self._lookup(t, run, i) for t in task.tasks)]
            cursor = self.cursors[run.id] = ForEachCursor(high=started[-1] + 1 if started else 0)
        active = 0
        seen: list[str] = [cursor.worst] if cursor.done else []
        failed = cursor.failed
        gaps: list[int] = []  # not started, below the high-water mark
        prefix = True  # every iteration scanned so far is over: the cursor may move
        for i in range(cursor.done, min(cursor.high, len(values))):
            if not any(self._lookup(t, run, i) for t in task.tasks):
                gaps.append(i)
                prefix = False
                continue
            state = self._seq(task.tasks, run, values[i], i)
            if state is None:
                active += 1
                prefix = False
                continue
            seen.append(state)
            failed = failed or state in BAD
            if prefix:
                cursor.done, cursor.worst = i + 1, S.worst([cursor.worst, state])
                cursor.failed = cursor.failed or state in BAD
        not_started = len(gaps) + max(len(values) - cursor.high, 0)
        if not failed:
            slots = not_started if limit <= 0 else max(limit - active, 0)
            starting = gaps[:slots] + list(range(cursor.high, cursor.high + max(slots - len(gaps), 0)))
            for i in starting[:slots]:
                if i >= len(values):
                    break
                cursor.high = max(cursor.high, i + 1)
                not_started -= 1
                if self._seq(task.tasks, run, values[i], i) is None:
                    active += 1
                else:  # every child disabled
                    seen.append(S.SUCCESS)
        if active or (not_started and not failed):
            return None
        return S.worst(seen)


def _value_of(run: RunLike) -> str | None:
    return getattr(run, "value", None)
