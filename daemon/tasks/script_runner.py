"""Where a script task runs: ``taskRunner`` (or legacy ``runner``/``docker``) as a runner kind and spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from daemon.engine.context import RunContext
from daemon.errors import TaskError
from daemon.language.tasks_scripts import ScriptTask
from daemon.runners import ScriptSpec


@dataclass(frozen=True)
class Placement:
    """The runner kind ("PROCESS" or "DOCKER") and the docker options of one script task."""

    kind: str
    image: str | None = None
    options: dict[str, Any] | None = None


def placement(task: ScriptTask, ctx: RunContext, *, default_image: str) -> Placement:
    """Pick the runner: ``taskRunner.type``, else legacy ``runner``, else the daemon's default runner."""
    if task.taskRunner is not None:
        kind = task.taskRunner.type.strip().rsplit(".", 1)[-1].upper()
        options: dict[str, Any] = task.taskRunner.model_dump(exclude={"type"}, exclude_none=True)
    elif task.runner is not None:
        kind, options = task.runner, dict(task.docker or {})
    else:
        kind, options = (ctx.default_runner or "PROCESS").upper(), {}
    if kind != "DOCKER":
        return Placement(kind=kind)
    options = ctx.render(options)
    legacy_image = (task.docker or {}).get("image")
    image = options.pop("image", None) or task.containerImage or legacy_image or default_image
    return Placement(kind="DOCKER", image=str(ctx.render(image)), options=options)


def _cpus(value: Any) -> float | None:
    # Kestra writes ``cpu: {cpus: 1.5}``; a bare number is accepted too
    if isinstance(value, dict):
        value = value.get("cpus")
    return float(value) if value is not None else None


def _memory(value: Any) -> str | None:
    # Kestra writes ``memory: {memory: "512MB"}``
    if isinstance(value, dict):
        value = value.get("memory")
    return str(value) if value is not None else None


def build_spec(
    where: Placement, ctx: RunContext, *, argv: list[str], env: dict[str, str], timeout: float | None
) -> ScriptSpec:
    """The runner's spec for ``argv``, with the docker options of ``where`` when it runs in a container."""
    if where.kind != "DOCKER":
        return ScriptSpec(argv=argv, workdir=ctx.workdir, env=env, timeout=timeout)
    opts = where.options or {}
    volumes = opts.get("volumes") or []
    if not isinstance(volumes, list):
        raise TaskError("taskRunner.volumes must be a list of 'host:container' strings")
    return ScriptSpec(
        argv=argv,
        workdir=ctx.workdir,
        env=env,
        timeout=timeout,
        image=where.image,
        pull_policy=str(opts.get("pullPolicy") or "IF_NOT_PRESENT"),
        cpu=_cpus(opts.get("cpu")),
        memory=_memory(opts.get("memory")),
        user=opts.get("user"),
        volumes=[str(v) for v in volumes],
        network_mode=opts.get("networkMode"),
        credentials=opts.get("credentials"),
        labels={"flowd.execution": ctx.execution_id, "flowd.taskrun": ctx.task_run_id},
    )
