"""Shell and Python script tasks (``Commands`` and ``Script``), run by the process or docker runner.

Every form becomes one shell command line: ``set -e`` (when ``failFast``), the ``beforeCommands``, then the
commands, or a line running the script file written into the workdir. stdout lines are logged as INFO,
stderr lines as WARN; ``::{"outputs": {...}}::`` lines become the ``vars`` output.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from daemon.engine.context import RunContext, TaskEndState, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_scripts import (
    PythonCommandsTask,
    PythonScriptTask,
    PythonTask,
    ScriptTask,
    ShellCommandsTask,
    ShellScriptTask,
)
from daemon.runners import runner_for
from daemon.runners.process import DEFAULT_PATH
from daemon.tasks.cancel import until_cancelled
from daemon.tasks.namespace_files import copy_namespace_files
from daemon.tasks.python_env import default_cache_dir, ensure_env
from daemon.tasks.script_runner import Placement, build_spec, placement
from daemon.tasks.workfiles import store_output_files, write_input_files

DEFAULT_INTERPRETER = ["/bin/sh", "-c"]
# images used when a script runs in Docker and names none (Kestra's defaults are of the same kind)
SHELL_IMAGE = "ubuntu:24.04"
PYTHON_IMAGE = "python:3.12-slim"
SHELL_SCRIPT_FILE = ".flowd_script.sh"
PYTHON_SCRIPT_FILE = ".flowd_script.py"


def render_lines(ctx: RunContext, lines: list[str]) -> list[str]:
    return [str(ctx.render(line, workingDir=str(ctx.workdir))) for line in lines]


def command_line(task: ScriptTask, ctx: RunContext, body: list[str], install: str = "") -> str:
    prelude = ["set -e"] if task.failFast else []
    setup = [install] if install else []
    return "\n".join([*prelude, *setup, *render_lines(ctx, task.beforeCommands), *body])


async def prepare_workdir(task: ScriptTask, ctx: RunContext) -> None:
    """Namespace files first, then ``inputFiles`` (which win on a name both give)."""
    await copy_namespace_files(ctx, task.namespaceFiles)
    write_input_files(ctx, task.inputFiles)


def _env(task: ScriptTask, ctx: RunContext) -> dict[str, str]:
    rendered = ctx.render(task.env, workingDir=str(ctx.workdir))
    return {str(k): "" if v is None else str(v) for k, v in rendered.items()}


async def python_for(task: PythonTask, ctx: RunContext, where: Placement) -> tuple[str, dict[str, str], str]:
    """The ``python`` to run, the environment it needs, and a line installing ``dependencies`` first.

    In a local process ``dependencies`` (or a ``pythonVersion``) select a cached virtual environment; in a
    container they are installed by pip before the commands run.
    """
    deps = [str(d) for d in ctx.render(task.dependencies)]
    if where.kind == "DOCKER":
        install = shlex.join(
            ["python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *deps]
        )
        return "python", {}, install if deps else ""
    if not deps and not task.pythonVersion:
        return sys.executable, {}, ""
    cache = ctx.cache_dir or default_cache_dir()
    building = ensure_env(deps, task.pythonVersion, cache_dir=cache, log=ctx.log)
    python = await until_cancelled(building, ctx.cancelled)  # a timeout or kill stops the installer
    bin_dir = str(python.parent)
    path = f"{bin_dir}:{os.environ.get('PATH', DEFAULT_PATH)}"
    return str(python), {"PATH": path, "VIRTUAL_ENV": str(python.parent.parent)}, ""


async def run_command(
    task: ScriptTask, ctx: RunContext, where: Placement, command: str, extra_env: dict[str, str] | None = None
) -> TaskResult:
    """Run ``command`` with the task's interpreter where ``where`` says; shape the outputs."""
    interpreter = task.interpreter or DEFAULT_INTERPRETER
    timeout = task.timeout.total_seconds() if task.timeout is not None else None
    env = {**(extra_env or {}), **_env(task, ctx)}
    spec = build_spec(where, ctx, argv=[*interpreter, command], env=env, timeout=timeout)
    stderr_lines = 0

    def on_line(stream: str, line: str) -> None:
        nonlocal stderr_lines
        if stream == "stderr":
            stderr_lines += 1
            ctx.log("WARN", line)
        else:
            ctx.log("INFO", line)

    try:
        result = await runner_for(where.kind).run(spec, on_line=on_line, cancelled=ctx.cancelled)
    finally:
        ctx.end_log()  # the one line saying how much output the attempt's log cap dropped
    outputs: dict[str, Any] = {"exitCode": result.exit_code, "vars": result.outputs}
    if result.timed_out:
        raise TaskError(f"Command timed out after {timeout:g} seconds")
    if result.killed or result.exit_code is None:
        return TaskResult(outputs=outputs, state="KILLED", error="Command was cancelled")
    if result.exit_code != 0:
        raise TaskError(f"Command failed with exit code {result.exit_code}")
    outputs["outputFiles"] = store_output_files(ctx, task.outputFiles)
    state: TaskEndState = "WARNING" if task.warningOnStdErr and stderr_lines else "SUCCESS"
    return TaskResult(outputs=outputs, state=state)


async def run_shell_commands(task: ShellCommandsTask, ctx: RunContext) -> TaskResult:
    """``beforeCommands`` + ``commands``, one per line, run by the interpreter."""
    where = placement(task, ctx, default_image=SHELL_IMAGE)
    await prepare_workdir(task, ctx)
    return await run_command(task, ctx, where, command_line(task, ctx, render_lines(ctx, task.commands)))


async def run_python_commands(task: PythonCommandsTask, ctx: RunContext) -> TaskResult:
    """Python ``Commands`` are shell commands (``python script.py`` ...) run in a Python environment."""
    where = placement(task, ctx, default_image=PYTHON_IMAGE)
    await prepare_workdir(task, ctx)
    _, env, install = await python_for(task, ctx, where)
    command = command_line(task, ctx, render_lines(ctx, task.commands), install)
    return await run_command(task, ctx, where, command, env)


async def run_shell_script(task: ShellScriptTask, ctx: RunContext) -> TaskResult:
    """Write the rendered ``script`` to a file and run it with the interpreter's shell."""
    where = placement(task, ctx, default_image=SHELL_IMAGE)
    await prepare_workdir(task, ctx)
    script = ctx.workdir / SHELL_SCRIPT_FILE
    script.write_text(str(ctx.render(task.script, workingDir=str(ctx.workdir))))
    shell = (task.interpreter or DEFAULT_INTERPRETER)[0]
    run_line = shlex.join([shell, *(["-e"] if task.failFast else []), SHELL_SCRIPT_FILE])
    return await run_command(task, ctx, where, command_line(task, ctx, [run_line]))


async def run_python_script(task: PythonScriptTask, ctx: RunContext) -> TaskResult:
    """Write the rendered ``script`` to a ``.py`` file and run it with Python.

    In a local process that is the daemon's own interpreter (``sys.executable``); in a container, ``python``.
    """
    where = placement(task, ctx, default_image=PYTHON_IMAGE)
    await prepare_workdir(task, ctx)
    script = ctx.workdir / PYTHON_SCRIPT_FILE
    script.write_text(str(ctx.render(task.script, workingDir=str(ctx.workdir))))
    python, env, install = await python_for(task, ctx, where)
    command = command_line(task, ctx, [shlex.join([python, PYTHON_SCRIPT_FILE])], install)
    return await run_command(task, ctx, where, command, env)
