"""A shell task in a container through ``taskRunner: Docker`` (skipped without an engine and test image)."""

from __future__ import annotations

import docker
import pytest

from daemon.errors import TaskError
from tests.tasks.conftest import Harness, make_task

pytestmark = [pytest.mark.integration, pytest.mark.docker]

IMAGE = "flowd-test/busybox:latest"


@pytest.fixture(scope="module", autouse=True)
def _engine_with_image() -> None:
    try:
        client = docker.from_env()
        client.images.get(IMAGE)
        client.close()
    except Exception as exc:
        pytest.skip(f"no Docker engine with {IMAGE} ({exc}); run `bash .ci/docker-setup.sh`")


def docker_task(commands: list[str], **extra: object) -> object:
    return make_task(
        {
            "type": "io.kestra.plugin.scripts.shell.Commands",
            "containerImage": IMAGE,
            "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker", "pullPolicy": "NEVER"},
            "commands": commands,
            **extra,
        }
    )


def test_commands_in_a_container_with_files_env_and_outputs(harness: Harness) -> None:
    task = docker_task(
        [
            "cat in.txt > out.txt",
            "echo $WHO >&2",
            'echo "::{\\"outputs\\":{\\"host\\":\\"$(hostname)\\"}}::"',
        ],
        inputFiles={"in.txt": "from the host"},
        env={"WHO": "container"},
        outputFiles=["out.txt"],
    )
    result = harness.run(task)
    assert result.outputs["exitCode"] == 0 and result.outputs["vars"]["host"]
    assert harness.storage.path_of(result.outputs["outputFiles"]["out.txt"]).read_text() == "from the host"
    assert ("WARN", "container") in harness.logs


def test_failure_in_a_container(harness: Harness) -> None:
    with pytest.raises(TaskError, match="exit code 4"):
        harness.run(docker_task(["exit 4"]))
