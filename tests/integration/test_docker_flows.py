"""Script tasks in Docker containers, end to end through the real engine (SQLite and PostgreSQL stores).

Needs a Docker engine and the local image ``flowd-test/busybox:latest`` (``bash .ci/docker-setup.sh``); the
``client`` fixture of the runner tests skips everything here, saying why, when either is missing. No image is
ever pulled: every docker task names the local image, most with ``pullPolicy: NEVER``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from daemon.store import Execution, Store
from tests.engine.conftest import Harness, deploy
from tests.runners.test_docker import IMAGE, client
from tests.server.daemon_harness import FLOWD, DaemonProcess, wait_for

__all__ = ["client"]  # the runner tests' fixture: skips with the reason when no engine or image is there

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.usefixtures("client")]

MANAGED = "flowd.managed=true"
DOCKER_RUNNER = "io.kestra.plugin.scripts.runner.docker.Docker"


def flow(body: str, *, flow_id: str = "f", namespace: str = "test.docker") -> str:
    """A flow file: the header, then ``body`` (indented YAML of the task list)."""
    return f"id: {flow_id}\nnamespace: {namespace}\n" + textwrap.dedent(body)


def managed(engine: docker.DockerClient, execution_id: str) -> list[Any]:
    """flowd's containers (running or not) of one execution."""
    labels = [MANAGED, f"flowd.execution={execution_id}"]
    return list(engine.containers.list(all=True, filters={"label": labels}, ignore_removed=True))


@pytest.fixture
def harness(store: Store, tmp_path: Path) -> Harness:
    return Harness(store, tmp_path / "home")


@pytest.fixture
def engine(client: docker.DockerClient, store: Store) -> Iterator[docker.DockerClient]:
    """The engine; the test fails if a container of its executions is left behind (and removes it).

    Other flowd processes (other test suites, daemons) may share the engine: their containers are not ours.
    """
    yield client
    ids = {e.id for e in store.executions.list(limit=10_000)}
    left = [
        c
        for c in client.containers.list(all=True, filters={"label": MANAGED}, ignore_removed=True)
        if (c.labels or {}).get("flowd.execution") in ids
    ]
    for container in left:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


# --- 1. taskRunner: Docker; outputs, output files, env, logs --------------------------------------

PRODUCE_AND_CONSUME = f"""
tasks:
  - id: produce
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: {DOCKER_RUNNER}
      pullPolicy: NEVER
    containerImage: {IMAGE}
    env:
      GREETING: "hello {{{{ flow.id }}}}"
    outputFiles: [report.txt]
    commands:
      - echo "line one"
      - echo "$GREETING from the container" > report.txt
      - echo '::{{"outputs":{{"x":42,"who":"'"$GREETING"'"}}}}::'
  - id: consume-in-docker
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: {DOCKER_RUNNER}
      pullPolicy: NEVER
    containerImage: {IMAGE}
    inputFiles:
      in.txt: "{{{{ outputs.produce.outputFiles['report.txt'] }}}}"
    commands:
      - echo "x is {{{{ outputs.produce.vars.x }}}}"
      - cat in.txt
  - id: consume-on-host
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - echo "{{{{ outputs.produce.vars.who }}}} / {{{{ outputs.produce.outputFiles['report.txt'] }}}}"
"""


def test_docker_task_runner_outputs_files_env_and_logs(harness: Harness, engine: docker.DockerClient) -> None:
    ex = harness.run(flow(PRODUCE_AND_CONSUME))
    logs = harness.logs(ex.id)
    assert ex.state == "SUCCESS", logs
    (produce,) = harness.runs(ex.id, "produce")
    assert produce.outputs["vars"] == {"x": 42, "who": "hello f"}
    uri = produce.outputs["outputFiles"]["report.txt"]
    assert uri.startswith("kestra:///")
    assert "line one" in logs
    # the second container got the first one's file through its kestra:/// URI
    assert "x is 42" in logs
    assert "hello f from the container" in logs
    assert f"hello f / {uri}" in logs
    assert not managed(engine, ex.id)


# --- 2. the legacy Bash task with runner: DOCKER --------------------------------------------------

LEGACY = f"""
tasks:
  - id: legacy
    type: io.kestra.core.tasks.scripts.Bash
    runner: DOCKER
    docker:
      image: {IMAGE}
      pullPolicy: NEVER
    env:
      WHO: legacy
    commands:
      - echo "hi $WHO in $(cat /proc/sys/kernel/hostname)"
      - echo '::{{"outputs":{{"lines":'"$(wc -l < /etc/passwd)"'}}}}::'
"""


def test_legacy_bash_with_runner_docker(harness: Harness, engine: docker.DockerClient) -> None:
    ex = harness.run(flow(LEGACY))
    logs = harness.logs(ex.id)
    assert ex.state == "SUCCESS", logs
    (run,) = harness.runs(ex.id, "legacy")
    assert run.outputs["vars"] == {"lines": 2}  # the test image's /etc/passwd: root and nobody
    (greeting,) = [line for line in logs if line.startswith("hi legacy in ")]
    assert greeting != f"hi legacy in {socket.gethostname()}"


# --- 3. FLOWD_DEFAULT_RUNNER ----------------------------------------------------------------------

WHERE = f"""
tasks:
  - id: where
    type: io.kestra.plugin.scripts.shell.Commands
    containerImage: {IMAGE}
    commands:
      - host=$(cat /proc/sys/kernel/hostname); python=$(command -v python3 || echo none)
      - echo '::{{"outputs":{{"host":"'"$host"'","python":"'"$python"'"}}}}::'
"""


@pytest.mark.parametrize("default_runner", ["PROCESS", "DOCKER"])
def test_default_runner_setting(
    store: Store,
    tmp_path: Path,
    engine: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    default_runner: str,
) -> None:
    monkeypatch.setenv("FLOWD_DEFAULT_RUNNER", default_runner)
    harness = Harness(store, tmp_path / "home")  # Settings read FLOWD_* here
    assert harness.settings.default_runner == default_runner
    ex = harness.run(flow(WHERE))
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    (run,) = harness.runs(ex.id, "where")
    found = run.outputs["vars"]
    if default_runner == "DOCKER":
        assert found["host"] != socket.gethostname()
        assert found["python"] == "none"  # the busybox image has no Python
    else:
        assert found["host"] == socket.gethostname()
        assert found["python"] != "none"  # the test runner's host has one


# --- 4. timeout and kill stop and remove the container --------------------------------------------

SLEEPER = f"""
tasks:
  - id: sleeper
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: {DOCKER_RUNNER}
      pullPolicy: NEVER
    containerImage: {IMAGE}
    {{timeout}}
    commands:
      - echo started
      - sleep 60
"""


def test_timeout_fails_the_task_and_removes_the_container(
    harness: Harness, engine: docker.DockerClient
) -> None:
    ex = harness.run(flow(SLEEPER.format(timeout="timeout: PT2S")))
    logs = harness.logs(ex.id)
    assert ex.state == "FAILED"
    assert "started" in logs  # the container did run
    assert harness.states(ex.id) == {"sleeper": "FAILED"}
    assert any("timed out" in line or "timeout" in line for line in logs), logs
    assert not managed(engine, ex.id)


def test_kill_stops_and_removes_the_container(harness: Harness, engine: docker.DockerClient) -> None:
    record = deploy(harness.store, flow(SLEEPER.format(timeout="")))
    executor = harness.executor
    execution_id = executor.create_execution(record, {})

    def running() -> bool:
        return any(c.status == "running" for c in managed(engine, execution_id))

    async def go() -> Execution:
        driver = asyncio.ensure_future(executor.run_until_done(execution_id))
        while not await asyncio.to_thread(running):
            assert not driver.done(), "the execution ended before its container ran"
            await asyncio.sleep(0.1)
        assert executor.kill(execution_id)
        return await asyncio.wait_for(driver, 60)

    ex = asyncio.run(go())
    assert ex.state == "KILLED"
    assert harness.states(execution_id) == {"sleeper": "KILLED"}
    assert not managed(engine, execution_id)


# --- 5. a missing image ---------------------------------------------------------------------------

MISSING = f"""
tasks:
  - id: missing
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: {DOCKER_RUNNER}
      pullPolicy: NEVER
    containerImage: flowd-test/absent:1
    commands:
      - echo never
"""


def test_missing_image_fails_with_one_line_naming_it(harness: Harness, engine: docker.DockerClient) -> None:
    ex = harness.run(flow(MISSING))
    assert ex.state == "FAILED"
    naming = [line for line in harness.logs(ex.id) if "flowd-test/absent:1" in line]
    assert len(naming) == 1, harness.logs(ex.id)
    assert "not found locally" in naming[0] and "\n" not in naming[0]
    assert not managed(engine, ex.id)


# --- the CLI: flowd sync, then flowd execute --local --json ---------------------------------------


def test_cli_sync_then_execute_local_json(tmp_path: Path, db_url: str, engine: docker.DockerClient) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "legacy.yml").write_text(flow(LEGACY, flow_id="legacy"))
    env = {"FLOWD_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}

    def flowd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*FLOWD, *args, "--db", db_url], env=env, capture_output=True, text=True, timeout=120
        )

    synced = flowd("sync", "--source", str(folder))
    assert synced.returncode == 0, synced.stderr
    done = flowd("execute", "test.docker/legacy", "--local", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    shape = json.loads(done.stdout)
    assert shape["state"]["current"] == "SUCCESS"
    (run,) = shape["taskRunList"]
    assert run["outputs"]["vars"] == {"lines": 2}


# --- 6. the daemon killed while a container runs --------------------------------------------------

CRASH = """
tasks:
  - id: once
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: {runner}
      pullPolicy: NEVER
      volumes: ["{marks}:/marks"]
    containerImage: {image}
    commands:
      # the first attempt sleeps (the daemon dies under it); a resumed attempt finds the mark and ends
      - if [ -e /marks/started ]; then echo resumed; exit 0; fi
      - touch /marks/started
      - sleep 300
"""


def test_daemon_killed_mid_task_cleans_the_orphan_and_ends_the_execution(
    tmp_path: Path, db_url: str, store: Store, engine: docker.DockerClient
) -> None:
    folder, home, marks = tmp_path / "flows", tmp_path / "home", tmp_path / "marks"
    for path in (folder, home, marks):
        path.mkdir()
    (folder / "crash.yml").write_text(
        flow(CRASH.format(runner=DOCKER_RUNNER, marks=marks, image=IMAGE), flow_id="crash")
    )
    daemon = DaemonProcess(source=folder, db_url=db_url, home=home)
    try:
        wait_for(lambda: store.flows.get("test.docker", "crash"), "the flow to be deployed")
        submitted = subprocess.run(
            [*FLOWD, "execute", "test.docker/crash", "--submit", "--no-wait", "--db", db_url],
            env={"FLOWD_HOME": str(home), "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        execution_id = submitted.stdout.strip()
        (first,) = wait_for(
            lambda: [c for c in managed(engine, execution_id) if c.status == "running"],
            "the task's container to run",
        )
        wait_for(lambda: (marks / "started").exists(), "the script to start")
    finally:
        daemon.stop(signal.SIGKILL)
    first.reload()
    assert first.status == "running"  # the daemon died; its container did not

    daemon = DaemonProcess(source=folder, db_url=db_url, home=home)
    try:
        wait_for(lambda: first.id not in {c.id for c in managed(engine, execution_id)}, "orphan removal")
        final = wait_for(
            lambda: _terminal(store, execution_id), "the execution to end after the restart", timeout=120
        )
    finally:
        assert daemon.stop() == 0, daemon.output()
    # The new daemon removed the orphan at start (or another flowd process sharing the engine did first:
    # its creator is gone, so any flowd may): the output is not asserted.
    logs = [line.message for line in store.logs.for_execution(execution_id)]
    if final.state == "SUCCESS":  # resumed: the task ran again, in a new container
        assert "resumed" in logs
        (run,) = store.executions.list_task_runs(execution_id)
        assert [a["state"] for a in run.attempts] == ["KILLED", "SUCCESS"]
    else:  # given up: with a reason
        assert final.state in ("FAILED", "KILLED"), final.state
        assert logs, "the execution ended without a reason"


def _terminal(store: Store, execution_id: str) -> Execution | None:
    row = store.executions.get(execution_id)
    return row if row is not None and row.state in ("SUCCESS", "WARNING", "FAILED", "KILLED") else None
