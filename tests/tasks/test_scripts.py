"""Shell and Python script tasks on the process runner (real subprocesses)."""

from __future__ import annotations

import asyncio
import json

import pytest

from daemon.errors import TaskError
from daemon.tasks.script_runner import build_spec, placement
from tests.tasks.conftest import Harness, make_task

pytestmark = pytest.mark.integration

SHELL = "io.kestra.plugin.scripts.shell"
PYTHON = "io.kestra.plugin.scripts.python"


def test_commands_stream_stdout_as_info_and_stderr_as_warn(harness: Harness) -> None:
    task = make_task({"type": f"{SHELL}.Commands", "commands": ["echo out", "echo err >&2", "echo done"]})
    result = harness.run(task)
    assert result.state == "SUCCESS"
    assert result.outputs == {"exitCode": 0, "vars": {}, "outputFiles": {}}
    assert ("INFO", "out") in harness.logs and ("WARN", "err") in harness.logs
    assert [m for _, m in harness.logs if m in ("out", "done")] == ["out", "done"]


def test_warning_on_stderr(harness: Harness) -> None:
    task = make_task({"type": f"{SHELL}.Commands", "commands": ["echo oops >&2"], "warningOnStdErr": True})
    assert harness.run(task).state == "WARNING"


def test_fail_fast_stops_at_first_failing_command(harness: Harness) -> None:
    task = make_task({"type": f"{SHELL}.Commands", "commands": ["false", "echo after"]})
    with pytest.raises(TaskError, match="Command failed with exit code 1"):
        harness.run(task)
    assert ("INFO", "after") not in harness.logs


def test_without_fail_fast_the_last_command_decides(harness: Harness) -> None:
    task = make_task({"type": f"{SHELL}.Commands", "commands": ["false", "echo after"], "failFast": False})
    assert harness.run(task).outputs["exitCode"] == 0
    assert ("INFO", "after") in harness.logs


def test_exit_code_reported(harness: Harness) -> None:
    with pytest.raises(TaskError, match="exit code 7"):
        harness.run(make_task({"type": f"{SHELL}.Commands", "commands": ["exit 7"]}))


def test_outputs_protocol_env_and_rendering(harness: Harness) -> None:
    harness.variables["inputs"] = {"who": "world"}
    task = make_task(
        {
            "type": f"{SHELL}.Commands",
            "env": {"GREETING": "hello {{ inputs.who }}"},
            "beforeCommands": ["X=5"],
            "commands": ['echo "::{\\"outputs\\":{\\"greeting\\":\\"$GREETING\\",\\"x\\":$X}}::"'],
        }
    )
    assert harness.run(task).outputs["vars"] == {"greeting": "hello world", "x": 5}


def test_input_and_output_files(harness: Harness, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stored = tmp_path / "stored.csv"
    stored.write_text("a,b\n1,2\n")
    uri = harness.storage.put_file("exec0", "r0", "stored.csv", stored)
    task = make_task(
        {
            "type": f"{SHELL}.Commands",
            "inputFiles": {"data/in.txt": "hi {{ 40 + 2 }}", "copy.csv": uri},
            "commands": ["cat data/in.txt > out.txt", "mkdir -p sub && cp copy.csv sub/c.csv"],
            "outputFiles": ["out.txt", "**/*.csv", "missing.*"],
        }
    )
    files = harness.run(task).outputs["outputFiles"]
    assert set(files) == {"out.txt", "copy.csv", "sub/c.csv"}
    assert harness.storage.path_of(files["out.txt"]).read_text() == "hi 42"
    assert harness.storage.path_of(files["sub/c.csv"]).read_text() == "a,b\n1,2\n"


def test_input_files_as_json_string_and_unsafe_names(harness: Harness) -> None:
    task = make_task(
        {"type": f"{SHELL}.Commands", "inputFiles": json.dumps({"a.txt": "A"}), "commands": ["cat a.txt"]}
    )
    harness.run(task)
    assert ("INFO", "A") in harness.logs
    bad = make_task({"type": f"{SHELL}.Commands", "inputFiles": {"../x": "no"}, "commands": ["true"]})
    with pytest.raises(TaskError, match="relative path"):
        harness.run(bad)


def test_shell_script_and_interpreter(harness: Harness) -> None:
    task = make_task(
        {"type": f"{SHELL}.Script", "interpreter": ["/bin/bash", "-c"], "script": "arr=(a b)\necho ${arr[1]}"}
    )
    harness.run(task)
    assert ("INFO", "b") in harness.logs


def test_python_script_with_outputs(harness: Harness) -> None:
    script = "import json\nprint('::' + json.dumps({'outputs': {'n': {{ 2 * 3 }}}}) + '::')\nprint('py ok')"
    result = harness.run(make_task({"type": f"{PYTHON}.Script", "script": script}))
    assert result.outputs["vars"] == {"n": 6}
    assert ("INFO", "py ok") in harness.logs


def test_python_script_failure(harness: Harness) -> None:
    with pytest.raises(TaskError, match="exit code 3"):
        harness.run(make_task({"type": f"{PYTHON}.Script", "script": "import sys\nsys.exit(3)"}))
    assert any(level == "WARN" for level, _ in harness.logs) is False


def test_python_commands_and_legacy_bash(harness: Harness) -> None:
    harness.run(
        make_task(
            {
                "type": f"{PYTHON}.Commands",
                "inputFiles": {"main.py": "print('from main')"},
                "commands": ["python3 main.py"],
            }
        )
    )
    harness.run(make_task({"type": "io.kestra.core.tasks.scripts.Bash", "commands": ["echo legacy"]}))
    assert ("INFO", "from main") in harness.logs and ("INFO", "legacy") in harness.logs


def test_cancel_kills_the_script(harness: Harness) -> None:
    cancelled = asyncio.Event()
    cancelled.set()
    task = make_task({"type": f"{SHELL}.Commands", "commands": ["sleep 60"]})
    assert harness.run(task, harness.context(cancelled=cancelled)).state == "KILLED"


def test_docker_placement_from_task_runner_and_legacy_runner(harness: Harness) -> None:
    ctx = harness.context()
    task = make_task(
        {
            "type": f"{PYTHON}.Script",
            "script": "print(1)",
            "containerImage": "python:3.11",
            "taskRunner": {
                "type": "io.kestra.plugin.scripts.runner.docker.Docker",
                "cpu": {"cpus": 0.5},
                "memory": {"memory": "256MB"},
                "pullPolicy": "NEVER",
            },
        }
    )
    where = placement(task, ctx, default_image="default")
    assert (where.kind, where.image) == ("DOCKER", "python:3.11")
    spec = build_spec(where, ctx, argv=["sh"], env={}, timeout=None)
    assert (spec.cpu, spec.memory, spec.pull_policy) == (0.5, "256MB", "NEVER")
    assert spec.labels["flowd.execution"] == "exec1"
    legacy = make_task(
        {
            "type": "io.kestra.core.tasks.scripts.Bash",
            "commands": ["x"],
            "runner": "DOCKER",
            "docker": {"image": "alp"},
        }
    )
    assert placement(legacy, ctx, default_image="d").image == "alp"
    plain = make_task({"type": f"{SHELL}.Commands", "commands": ["x"]})
    assert placement(plain, ctx, default_image="d").kind == "PROCESS"
    docker_default = placement(plain, harness.context(default_runner="DOCKER"), default_image="d")
    assert (docker_default.kind, docker_default.image) == ("DOCKER", "d")
