"""dbt tasks: ``DbtCLI`` (shell ``commands``) and the older one-command ``Build``/``Run``/``Test``/...

They are script tasks: the commands run in the working directory (namespace files and ``inputFiles`` first),
on the process runner with the ``dbt`` found on the daemon's PATH (install ``flowd[dbt]``), or in the
``containerImage`` with the Docker runner. ``profiles`` is written to ``.profile/profiles.yml`` and
``DBT_PROFILES_DIR`` points at it; ``projectDir`` becomes ``DBT_PROJECT_DIR``. After the run,
``target/run_results.json`` becomes the ``runResults`` output (and is stored as an output file).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_data import DbtCliTask, DbtCommandTask, DbtTask
from daemon.tasks.script_runner import placement
from daemon.tasks.scripts import command_line, prepare_workdir, render_lines, run_command
from daemon.tasks.workfiles import safe_relative

DBT_IMAGE = "ghcr.io/kestra-io/dbt-postgres:latest"
PROFILES_DIR = ".profile"
# quiet, reproducible dbt: no colour codes in the logs, no usage tracking calls from a worker
DBT_ENV = {"DBT_USE_COLORS": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


def project_dir(task: DbtTask, ctx: RunContext) -> Path:
    """The dbt project folder: ``projectDir`` inside the working directory, else the working directory."""
    rel = str(ctx.render(task.projectDir)).strip() if task.projectDir else ""
    return safe_relative(ctx.workdir, rel) if rel and rel != "." else ctx.workdir


def write_profiles(task: DbtTask, ctx: RunContext) -> Path | None:
    """Write ``profiles`` (text or map) to ``.profile/profiles.yml``; its folder, or None without one."""
    if task.profiles is None:
        return None
    rendered = ctx.render(task.profiles)
    text = rendered if isinstance(rendered, str) else yaml.safe_dump(rendered, sort_keys=False)
    folder = ctx.workdir / PROFILES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(text)
    return folder


def run_results(project: Path) -> list[dict[str, Any]] | None:
    """A summary of ``target/run_results.json`` (one entry per node), or None when dbt wrote none."""
    path = project / "target" / "run_results.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return [
        {
            "uniqueId": r.get("unique_id"),
            "status": r.get("status"),
            "executionTime": r.get("execution_time"),
            "message": r.get("message"),
            "failures": r.get("failures"),
        }
        for r in data.get("results", [])
        if isinstance(r, dict)
    ]


def _env(task: DbtTask, ctx: RunContext, project: Path, profiles: Path | None) -> dict[str, str]:
    env = {**DBT_ENV, "DBT_PROJECT_DIR": str(project)}
    if profiles is not None:
        env["DBT_PROFILES_DIR"] = str(profiles)
    elif (project / "profiles.yml").is_file():
        env["DBT_PROFILES_DIR"] = str(project)
    return env


async def _run_dbt(task: DbtTask, ctx: RunContext, body: list[str]) -> TaskResult:
    where = placement(task, ctx, default_image=DBT_IMAGE)
    await prepare_workdir(task, ctx)
    project = project_dir(task, ctx)
    env = _env(task, ctx, project, write_profiles(task, ctx))
    # run_results.json of an earlier command in the same folder must not pass for this run's
    (project / "target" / "run_results.json").unlink(missing_ok=True)
    try:
        result = await run_command(task, ctx, where, command_line(task, ctx, body), env)
    except TaskError:
        for node in run_results(project) or []:
            if node["status"] in ("error", "fail"):
                ctx.log("ERROR", f"dbt {node['uniqueId']}: {node['status']}: {node['message']}")
        raise
    if task.parseRunResults:
        results = run_results(project)
        if results is not None:
            result.outputs["runResults"] = results
            stored = ctx.storage.put_file(
                ctx.execution_id, ctx.task_run_id, "run_results.json", project / "target" / "run_results.json"
            )
            result.outputs.setdefault("outputFiles", {})["run_results.json"] = stored
    return result


async def run_dbt_cli(task: DbtCliTask, ctx: RunContext) -> TaskResult:
    """Run ``commands`` (``dbt deps``, ``dbt build`` ...) one per line."""
    return await _run_dbt(task, ctx, render_lines(ctx, task.commands))


def command_args(task: DbtCommandTask, ctx: RunContext) -> list[str]:
    """The dbt command line of a one-command task from its typed properties."""
    argv = [str(ctx.render(task.dbtPath))]
    argv += ["--debug"] if task.debug else []
    argv += ["--warn-error"] if task.warnError else []
    argv += task.COMMAND.split()
    for flag, values in (("--select", task.select), ("--exclude", task.exclude)):
        if values:
            argv += [flag, *[str(ctx.render(v)) for v in values]]
    for flag, value in (("--selector", task.selector), ("--target", task.target)):
        if value:
            argv += [flag, str(ctx.render(value))]
    argv += ["--threads", str(task.thread)] if task.thread else []
    argv += ["--full-refresh"] if task.fullRefresh and task.COMMAND in ("build", "run", "seed") else []
    argv += ["--fail-fast"] if task.failFast and task.COMMAND in ("build", "run", "test") else []
    return argv


async def run_dbt_command(task: DbtCommandTask, ctx: RunContext) -> TaskResult:
    """``dbt <command>`` with ``select``/``exclude``/``target``... as flags."""
    return await _run_dbt(task, ctx, [shlex.join(command_args(task, ctx))])
