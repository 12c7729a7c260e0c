"""Running test cases: each in a throwaway embedded store (SQLite in a temporary folder), several at once.

A case deploys the flow under test (and the subflows it calls, transitively) from the flow files given,
uploads its fixture files, starts one execution with the fixture inputs and drives it to its end with a
real executor whose mocked tasks answer from their fixtures, then evaluates the assertions against that
execution: ``outputs``, ``inputs``, ``execution`` (id, state, namespace, flowId), ``labels`` and
``taskruns`` / ``tasks`` (task id -> {state, outputs}) are in the expression context.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.errors import FlowdError
from daemon.flowtests.assertions import Outcome, check
from daemon.flowtests.mocking import mocked_plugins
from daemon.flowtests.spec import Assertion, TestCase, TestSuite
from daemon.language.model import Flow

CASE_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class FlowSource:
    """A valid flow file: its parsed model and its text."""

    flow: Flow
    text: str
    path: str


@dataclass(frozen=True, slots=True)
class AssertionResult:
    assertion: Assertion
    outcome: Outcome
    expression: str


@dataclass(slots=True)
class CaseResult:
    """One test case's result. ``error`` is set when it could not run (flow missing, bad input...)."""

    suite: TestSuite
    case: TestCase
    state: str = "SKIPPED"
    execution_state: str | None = None
    execution_id: str | None = None
    duration: float = 0.0
    error: str | None = None
    results: list[AssertionResult] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.suite.file}::{self.suite.id}::{self.case.id}"

    @property
    def failures(self) -> list[AssertionResult]:
        return [r for r in self.results if not r.outcome.ok]


def run_suites(
    suites: Sequence[TestSuite],
    flows: Mapping[str, FlowSource],
    *,
    mock_all: bool = False,
    jobs: int = 4,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run every enabled case of every suite, ``jobs`` at a time; results in suite/case order."""
    cases = [(s, c) for s in suites for c in s.test_cases]
    with tempfile.TemporaryDirectory(prefix="flowd-test-") as tmp:
        template = _template_store(Path(tmp))
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [
                pool.submit(_run_case_safely, s, c, flows, template, Path(tmp) / f"case-{i}", mock_all)
                for i, (s, c) in enumerate(cases)
            ]
            results = []
            for future in futures:
                result = future.result()
                if on_result is not None:
                    on_result(result)
                results.append(result)
    return results


def _template_store(tmp: Path) -> Path:
    """An empty store migrated once; each case starts from a copy (Alembic runs once, not per case)."""
    from daemon.store import Store

    path = tmp / "template.db"
    Store.open(f"sqlite:///{path}").close()
    return path


def _run_case_safely(
    suite: TestSuite,
    case: TestCase,
    flows: Mapping[str, FlowSource],
    template: Path,
    home: Path,
    mock_all: bool,
) -> CaseResult:
    result = CaseResult(suite, case)
    if suite.disabled or case.disabled:
        return result
    started = time.perf_counter()
    try:
        _run_case(result, flows, template, home, mock_all)
    except FlowdError as exc:
        result.state, result.error = "ERROR", exc.message
    except Exception as exc:  # a bug or an environment problem: reported on the case, the others go on
        result.state, result.error = "ERROR", f"{type(exc).__name__}: {exc}"
    finally:
        result.duration = time.perf_counter() - started
        shutil.rmtree(home, ignore_errors=True)
    return result


def _run_case(
    result: CaseResult, flows: Mapping[str, FlowSource], template: Path, home: Path, mock_all: bool
) -> None:
    from daemon.clock import SystemClock
    from daemon.engine.executor import Executor
    from daemon.expressions.render import render_value
    from daemon.settings import Settings
    from daemon.store import Store, new_id
    from daemon.store.storage_db import open_storage
    from daemon.tasks.registry import PLUGINS

    suite, case = result.suite, result.case
    if suite.flow_uid not in flows:
        raise FlowdError(f"flow {suite.flow_uid} is not among the valid flow files given")
    home.mkdir(parents=True)
    shutil.copy(template, home / "flowd.db")
    settings = Settings(home=home, flow_cache=False)
    store = Store.open(f"sqlite:///{home / 'flowd.db'}")
    try:
        records = {uid: _deploy(store, flows[uid]) for uid in _needed(suite.flow_uid, flows)}
        execution_id = new_id()
        storage = open_storage(
            settings.storage,
            engine=store.engine,
            storage_dir=settings.storage_dir,
            cache_dir=settings.cache_dir,
        )
        uris = _upload_files(storage, suite, case, execution_id, home)
        fixture_context: dict[str, Any] = {"fileURI": lambda name: uris[name]}
        inputs = render_value(dict(case.fixtures.inputs), fixture_context)
        mocks = {t.id: (t.state, render_value(dict(t.outputs), fixture_context)) for t in case.fixtures.tasks}
        plugins = mocked_plugins(PLUGINS, mocks, mock_all=mock_all)
        executor = Executor(store, settings, SystemClock(), plugins, workers=4, environ={})
        executor.create_execution(records[suite.flow_uid], inputs, execution_id=execution_id)
        row = asyncio.run(asyncio.wait_for(executor.run_until_done(execution_id), CASE_TIMEOUT))
        result.execution_id, result.execution_state = row.id, row.state
        context = _assertion_context(store, row)
        result.results = [_evaluate(a, context) for a in case.assertions]
        result.state = "FAILED" if result.failures else "PASSED"
    finally:
        store.close()


def _needed(uid: str, flows: Mapping[str, FlowSource]) -> list[str]:
    """The flow and every flow it starts as a subflow, transitively (those that are given)."""
    from daemon.language.tasks import iter_tasks

    seen: list[str] = []
    todo = [uid]
    while todo:
        current = todo.pop()
        if current in seen or current not in flows:
            continue
        seen.append(current)
        flow = flows[current].flow
        for task in iter_tasks([*flow.tasks, *flow.errors, *flow.finally_]):
            namespace, flow_id = getattr(task, "namespace", None), getattr(task, "flowId", None)
            if isinstance(namespace, str) and isinstance(flow_id, str):
                todo.append(f"{namespace}/{flow_id}")
    return seen


def _deploy(store: Any, source: FlowSource) -> Any:
    from datetime import UTC, datetime

    digest = hashlib.sha256(source.text.encode()).hexdigest()
    return store.flows.deploy(
        source.flow.namespace, source.flow.id, source=source.text, hash=digest,
        path=source.path, commit=None, now=datetime.now(UTC),
    )  # fmt: skip


def _upload_files(
    storage: Any, suite: TestSuite, case: TestCase, execution_id: str, home: Path
) -> dict[str, str]:
    uris: dict[str, str] = {}
    staging = home / "fixtures"
    for i, (name, content) in enumerate(case.fixtures.files.items()):
        src = staging / str(i) / Path(name).name
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(content)
        uris[name] = storage.put(suite.namespace, suite.flow_id, execution_id, "fixtures", str(i), src)
    return uris


def _assertion_context(store: Any, row: Any) -> dict[str, Any]:
    runs = store.executions.list_task_runs(row.id)
    outputs: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    for run in runs:
        if run.parent_task_run_id is None or run.task_id not in outputs:
            outputs[run.task_id] = dict(run.outputs or {})
            tasks[run.task_id] = {"state": run.state, "outputs": dict(run.outputs or {})}
    execution = {
        "id": row.id, "state": row.state, "namespace": row.namespace, "flowId": row.flow_id,
        "outputs": row.outputs or {},
    }  # fmt: skip
    return {
        "outputs": outputs, "tasks": tasks, "taskruns": tasks, "inputs": row.inputs or {},
        "execution": execution, "labels": row.labels or {},
        "flow": {"namespace": row.namespace, "id": row.flow_id},
    }  # fmt: skip


def _evaluate(assertion: Assertion, context: Mapping[str, Any]) -> AssertionResult:
    operator, expected = assertion.operator
    if assertion.value is not None:
        expression = assertion.value if isinstance(assertion.value, str) else repr(assertion.value)
        try:
            actual = evaluate(assertion.value, context)
        except FlowdError as exc:
            if operator in ("isNull", "isNotNull") and "not defined" in exc.message:
                actual = None
            else:
                return AssertionResult(
                    assertion, Outcome(False, operator, expected, None, exc.message), expression
                )
    elif assertion.task_id is not None:
        expression = f"state of task {assertion.task_id}"
        task = context["tasks"].get(assertion.task_id)
        actual = task["state"] if task else None
    else:
        expression = "execution state"
        actual = context["execution"]["state"]
    outcome = check(operator, actual, expected)
    if not outcome.ok and assertion.error_message:
        outcome = Outcome(False, operator, expected, actual, assertion.error_message)
    return AssertionResult(assertion, outcome, expression)


def evaluate(value: Any, context: Mapping[str, Any]) -> Any:
    """An assertion's value: a lone ``{{ expr }}`` keeps its type (numbers, lists, null); any other text
    is rendered as a template; non-text values are taken as they are."""
    from daemon.expressions.render import render

    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        import json

        inner = stripped[2:-2].strip()
        return json.loads(render("{{ toJson(" + inner + ") }}", context))
    return render(value, context)
