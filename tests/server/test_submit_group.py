# ruff: noqa: E501  (flow YAML is clearer on one line)
"""Executions submitted through ``Services`` from other threads are created together in one transaction
(group commit): each caller gets its own answer after that commit; a bad submission fails alone; when the
group's transaction fails, each is created again alone and gets its own result or error."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest
import sqlalchemy.exc

from daemon.clock import SystemClock
from daemon.errors import InputError
from daemon.server.services import Services
from daemon.store import Store
from tests.engine.conftest import Harness, deploy

LOGS = "id: logs\nnamespace: test\ninputs:\n  - {id: n, type: INT, defaults: 1}\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: 'n={{ inputs.n }}'}\n"


def services(store: Store, tmp_path: Path) -> tuple[Services, Harness]:
    harness = Harness(store, tmp_path / "home")
    return Services(harness.settings, store, harness.executor, None, SystemClock()), harness


def submit(services: Services, inputs: dict[str, object], execution_id: str | None = None) -> Future[str]:
    """Queue one submission as ``submit_execution`` does from another thread."""
    record = services.store.flows.get("test", "logs")
    assert record is not None
    future: Future[str] = Future()
    services._submissions.append(
        (lambda: services.executor.create_execution(record, inputs, execution_id=execution_id), future)
    )
    return future


def test_group_answers_each_caller_and_a_bad_one_fails_alone(store: Store, tmp_path: Path) -> None:
    svc, harness = services(store, tmp_path)
    deploy(store, LOGS)
    good = [submit(svc, {"n": i}) for i in range(3)]
    bad = submit(svc, {"n": "not a number"})
    svc._submitted()
    with pytest.raises(InputError):
        bad.result(0)
    ids = [f.result(0) for f in good]
    assert [harness.logs(i) for i in ids] == [["n=0"], ["n=1"], ["n=2"]]
    assert all(store.executions.get(i).state == "SUCCESS" for i in ids)  # type: ignore[union-attr]


def test_failed_group_is_created_again_one_by_one(store: Store, tmp_path: Path) -> None:
    svc, harness = services(store, tmp_path)
    record = deploy(store, LOGS)
    taken = harness.executor.create_execution(record, {}, own=False)
    good = [submit(svc, {"n": i}) for i in range(2)]
    duplicate = submit(svc, {}, execution_id=taken)  # its insert fails the group's transaction
    svc._submitted()
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        duplicate.result(0)
    ids = [f.result(0) for f in good]
    assert [harness.logs(i) for i in ids] == [["n=0"], ["n=1"]]  # each stored once, alone
    assert len(store.executions.list(namespace="test", flow_id="logs")) == 3  # the two and ``taken``
    assert not harness.executor.busy and not svc._submissions
