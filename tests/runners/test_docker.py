"""DockerRunner against a real Docker engine (started by .ci/docker-setup.sh), or skipped saying why."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from daemon.errors import TaskError
from daemon.runners import RunResult, ScriptSpec, runner_for
from daemon.runners.docker import MANAGED_LABEL, DockerRunner, cleanup_orphans
from daemon.runners.docker_engine import engine_host, root_cause

IMAGE = "flowd-test/busybox:latest"
SETUP_HINT = "run `bash .ci/docker-setup.sh` as root to start an engine and build the test image"


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    try:
        engine = docker.from_env()
    except Exception as exc:
        pytest.skip(f"no Docker engine reachable at {engine_host()} ({root_cause(exc)}); {SETUP_HINT}")
    try:
        engine.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        engine.close()
        pytest.skip(f"test image {IMAGE} is missing; {SETUP_HINT}")
    yield engine
    engine.close()


@pytest.fixture()
def taskrun(client: docker.DockerClient) -> Iterator[str]:
    """A unique flowd.taskrun label value; the test fails if a container carrying it survives."""
    value = f"test-{uuid.uuid4().hex[:12]}"
    yield value
    left = client.containers.list(all=True, filters={"label": f"flowd.taskrun={value}"})
    for container in left:
        container.remove(force=True)
    assert not left, "a container was left behind"


def spec_for(
    script: str, workdir: Path, taskrun: str, *, timeout: float | None = 60, **options: object
) -> ScriptSpec:
    return ScriptSpec(
        argv=["/bin/sh", "-c", script],
        workdir=workdir,
        env=options.pop("env", {}),  # type: ignore[arg-type]
        timeout=timeout,
        image=options.pop("image", IMAGE),  # type: ignore[arg-type]
        pull_policy=options.pop("pull_policy", "NEVER"),  # type: ignore[arg-type]
        labels={"flowd.taskrun": taskrun},
        **options,  # type: ignore[arg-type]
    )


def run(
    spec: ScriptSpec, *, cancel_on_line: bool = False, runner: DockerRunner | None = None
) -> tuple[RunResult, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []

    async def go() -> RunResult:
        cancelled = asyncio.Event()

        def on_line(stream: str, line: str) -> None:
            lines.append((stream, line))
            if cancel_on_line:
                cancelled.set()

        return await (runner or DockerRunner(grace=1)).run(spec, on_line=on_line, cancelled=cancelled)

    return asyncio.run(go()), lines


@pytest.mark.integration
@pytest.mark.docker
class TestWithEngine:
    def test_echo_streams_stdout_and_stderr_apart(self, tmp_path: Path, taskrun: str) -> None:
        result, lines = run(spec_for("echo one; echo two >&2; echo three", tmp_path, taskrun))
        assert result.exit_code == 0 and not result.killed
        assert [line for stream, line in lines if stream == "stdout"] == ["one", "three"]
        assert [line for stream, line in lines if stream == "stderr"] == ["two"]

    def test_exit_code(self, tmp_path: Path, taskrun: str) -> None:
        result, _ = run(spec_for("exit 7", tmp_path, taskrun))
        assert result.exit_code == 7

    def test_workdir_is_mounted_and_files_come_back(self, tmp_path: Path, taskrun: str) -> None:
        (tmp_path / "input.txt").write_text("from host\n")
        result, lines = run(
            spec_for("pwd; cat input.txt; echo from container > output.txt", tmp_path, taskrun)
        )
        assert result.exit_code == 0
        assert lines == [("stdout", str(tmp_path.resolve())), ("stdout", "from host")]
        assert (tmp_path / "output.txt").read_text() == "from container\n"

    def test_env_is_passed(self, tmp_path: Path, taskrun: str) -> None:
        _, lines = run(
            spec_for('echo "$GREETING $WHO"', tmp_path, taskrun, env={"GREETING": "hi", "WHO": "you"})
        )
        assert lines == [("stdout", "hi you")]

    def test_outputs_protocol(self, tmp_path: Path, taskrun: str) -> None:
        script = (
            'echo \'::{"outputs": {"a": 1}}::\'; echo \'::{"outputs": {"a": 2, "b": [1]}}::\'; echo plain'
        )
        result, lines = run(spec_for(script, tmp_path, taskrun))
        assert result.outputs == {"a": 2, "b": [1]}
        assert lines == [("stdout", "plain")]

    def test_user_limits_and_extra_volume(self, tmp_path: Path, taskrun: str) -> None:
        shared = tmp_path / "shared"
        shared.mkdir()
        (shared / "data.txt").write_text("shared data\n")
        work = tmp_path / "work"
        work.mkdir()
        spec = spec_for(
            "id -u; cat /data/data.txt; touch /data/x 2>/dev/null || echo read-only",
            work,
            taskrun,
            user="65534",
            cpu=0.5,
            memory="64MB",
            volumes=[f"{shared}:/data:ro"],
        )
        result, lines = run(spec)
        assert result.exit_code == 0
        assert [line for _, line in lines] == ["65534", "shared data", "read-only"]

    def test_timeout_stops_and_removes_the_container(self, tmp_path: Path, taskrun: str) -> None:
        result, lines = run(spec_for("echo started; sleep 300", tmp_path, taskrun, timeout=1))
        assert result.timed_out and result.killed
        assert result.exit_code not in (0, None)
        assert lines == [("stdout", "started")]
        # the taskrun fixture checks that no container is left

    def test_cancel_stops_and_removes_the_container(self, tmp_path: Path, taskrun: str) -> None:
        result, _ = run(spec_for("echo started; sleep 300", tmp_path, taskrun), cancel_on_line=True)
        assert result.killed and not result.timed_out

    def test_cancelling_the_awaiting_task_removes_the_container(self, tmp_path: Path, taskrun: str) -> None:
        async def go() -> None:
            started = asyncio.Event()
            task = asyncio.ensure_future(
                DockerRunner(grace=1).run(
                    spec_for("echo started; sleep 300", tmp_path, taskrun),
                    on_line=lambda stream, line: started.set(),
                    cancelled=asyncio.Event(),
                )
            )
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(go())
        # the taskrun fixture checks that no container is left

    def test_missing_image_with_never_is_one_clear_line(self, tmp_path: Path, taskrun: str) -> None:
        with pytest.raises(TaskError) as info:
            run(spec_for("true", tmp_path, taskrun, image="flowd-test/absent:1"))
        assert (
            info.value.message
            == "docker: image 'flowd-test/absent:1' not found locally and pullPolicy is NEVER"
        )

    def test_failed_pull_is_one_line(self, tmp_path: Path, taskrun: str) -> None:
        # No registry is reachable here (or the image does not exist there): either way one line.
        with pytest.raises(TaskError) as info:
            run(
                spec_for("true", tmp_path, taskrun, image="flowd-test/absent:1", pull_policy="IF_NOT_PRESENT")
            )
        assert info.value.message.startswith("docker: cannot pull image 'flowd-test/absent:1': ")
        assert "\n" not in info.value.message

    def test_missing_command_in_image_is_a_task_error(self, tmp_path: Path, taskrun: str) -> None:
        spec = ScriptSpec(
            argv=["python3", "main.py"],
            workdir=tmp_path,
            env={},
            timeout=60,
            image=IMAGE,
            pull_policy="NEVER",
            labels={"flowd.taskrun": taskrun},
        )
        with pytest.raises(TaskError, match="docker: cannot start a container of image"):
            run(spec)

    def test_cleanup_orphans_removes_only_managed_containers(self, client: docker.DockerClient) -> None:
        # Spare every managed container that exists already: another test run may own it.
        others = {c.id for c in client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"})}
        tag = uuid.uuid4().hex[:12]
        orphan = client.containers.create(IMAGE, ["true"], labels={MANAGED_LABEL: "true", "t": tag})
        kept = client.containers.create(
            IMAGE, ["true"], labels={MANAGED_LABEL: "true", "flowd.execution": f"keep-{tag}"}
        )
        foreign = client.containers.create(IMAGE, ["true"], labels={"t": tag})
        try:
            removed = cleanup_orphans(client, keep=others | {f"keep-{tag}"})
            assert removed == 1
            remaining = {c.id for c in client.containers.list(all=True)}
            assert orphan.id not in remaining
            assert kept.id in remaining and foreign.id in remaining
        finally:
            for container in (orphan, kept, foreign):
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:
                    pass

    def test_runner_for_docker(self) -> None:
        assert isinstance(runner_for("DOCKER"), DockerRunner)
        assert isinstance(runner_for("io.kestra.plugin.scripts.runner.docker.Docker"), DockerRunner)


@pytest.mark.integration
def test_unreachable_engine_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A socket file nobody listens on: connecting to it is refused.
    path = tmp_path / "closed.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    spec = ScriptSpec(argv=["true"], workdir=tmp_path, env={}, timeout=10, image=IMAGE)
    with pytest.raises(TaskError) as info:
        run(spec)
    assert (
        info.value.message == f"docker: cannot reach the Docker engine at unix://{path}: Connection refused"
    )
