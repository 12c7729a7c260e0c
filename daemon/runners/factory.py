"""Pick a runner by its kind name, as written in a task's ``taskRunner`` or the daemon's default."""

from __future__ import annotations

from daemon.errors import TaskError
from daemon.runners.spec import Runner

KINDS = ("PROCESS", "DOCKER")


def runner_for(kind: str = "PROCESS") -> Runner:
    """A runner for ``kind``: "PROCESS" or "DOCKER", case-insensitive, empty meaning PROCESS.

    Kestra's task runner type names are accepted too (``io.kestra.plugin.core.runner.Process``,
    ``io.kestra.plugin.scripts.runner.docker.Docker``): their last segment is the kind.
    """
    name = (kind or "PROCESS").strip().upper().rsplit(".", 1)[-1]
    if name == "PROCESS":
        from daemon.runners.process import ProcessRunner

        return ProcessRunner()
    if name == "DOCKER":
        # Imported here: the docker SDK costs start-up time that process-only users should not pay.
        from daemon.runners.docker import DockerRunner

        return DockerRunner()
    raise TaskError(f"unknown task runner '{kind}' (expected one of: {', '.join(KINDS)})")
