"""ProcessRunner against real subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from daemon.errors import TaskError
from daemon.runners import RunResult, ScriptSpec, runner_for
from daemon.runners.process import ProcessRunner

pytestmark = pytest.mark.integration


def sh(
    script: str, workdir: Path, *, env: dict[str, str] | None = None, timeout: float | None = None
) -> ScriptSpec:
    return ScriptSpec(argv=["/bin/sh", "-c", script], workdir=workdir, env=env or {}, timeout=timeout)


def run(
    spec: ScriptSpec, *, cancelled: asyncio.Event | None = None, runner: ProcessRunner | None = None
) -> tuple[RunResult, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []

    async def go() -> RunResult:
        event = cancelled or asyncio.Event()
        return await (runner or ProcessRunner(grace=1.0)).run(
            spec, on_line=lambda stream, line: lines.append((stream, line)), cancelled=event
        )

    return asyncio.run(go()), lines


def test_lines_are_streamed_in_order_per_stream(tmp_path: Path) -> None:
    result, lines = run(sh("echo one; echo two >&2; echo three; printf 'no newline'", tmp_path))
    assert result.exit_code == 0
    assert not result.timed_out and not result.killed
    assert [line for stream, line in lines if stream == "stdout"] == ["one", "three", "no newline"]
    assert [line for stream, line in lines if stream == "stderr"] == ["two"]


def test_lines_arrive_while_the_process_still_runs(tmp_path: Path) -> None:
    # The script waits for a file that the test creates only after it saw the first line.
    seen: list[str] = []
    gate = tmp_path / "gate"

    async def go() -> RunResult:
        def on_line(stream: str, line: str) -> None:
            seen.append(line)
            gate.touch()

        return await ProcessRunner().run(
            sh("echo first; while [ ! -e gate ]; do sleep 0.01; done; echo second", tmp_path, timeout=30),
            on_line=on_line,
            cancelled=asyncio.Event(),
        )

    result = asyncio.run(go())
    assert result.exit_code == 0 and not result.timed_out
    assert seen == ["first", "second"]


def test_exit_code_is_reported(tmp_path: Path) -> None:
    result, _ = run(sh("exit 3", tmp_path))
    assert result.exit_code == 3
    assert not result.killed


def test_outputs_protocol_is_parsed_and_not_logged(tmp_path: Path) -> None:
    script = (
        'echo \'::{"outputs": {"a": 1, "b": "x"}}::\'\n'
        'echo \'::{"outputs": {"b": "y"}, "metrics": [{"name": "rows", "type": "counter", "value": 2}]}::\'\n'
        'echo \'::{"logs": [{"level": "WARN", "message": "careful"}]}::\'\n'
        "echo '::{not json}::'\n"
        "echo plain\n"
    )
    result, lines = run(sh(script, tmp_path))
    assert result.outputs == {"a": 1, "b": "y"}
    assert result.metrics == [{"name": "rows", "type": "counter", "value": 2}]
    assert lines == [("stdout", "careful"), ("stdout", "::{not json}::"), ("stdout", "plain")]


def test_python_script_outputs(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "import json\nprint('::' + json.dumps({'outputs': {'n': 41 + 1}}) + '::')\nprint('done')\n"
    )
    spec = ScriptSpec(argv=[sys.executable, "main.py"], workdir=tmp_path, env={}, timeout=30)
    result, lines = run(spec)
    assert result.exit_code == 0
    assert result.outputs == {"n": 42}
    assert lines == [("stdout", "done")]


def test_env_is_merged_over_a_minimal_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWD_SECRET_FOR_TEST", "leak")
    runner = ProcessRunner(grace=1.0)  # reads the daemon's environment when built
    result, lines = run(
        sh(
            'echo "$GREETING"; echo "${FLOWD_SECRET_FOR_TEST:-unset}"; echo "$PATH"',
            tmp_path,
            env={"GREETING": "hi"},
        ),
        runner=runner,
    )
    assert result.exit_code == 0
    assert lines[0] == ("stdout", "hi")
    assert lines[1] == ("stdout", "unset")
    assert lines[2][1] == os.environ["PATH"]


def test_runs_in_the_workdir_and_can_write_files(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("data\n")
    result, lines = run(sh("pwd; cat in.txt; echo out > out.txt", tmp_path))
    assert result.exit_code == 0
    assert lines == [("stdout", str(tmp_path)), ("stdout", "data")]
    assert (tmp_path / "out.txt").read_text() == "out\n"


def test_invalid_utf8_and_long_lines(tmp_path: Path) -> None:
    script = "printf 'a\\377b\\n'; head -c 300000 /dev/zero | tr '\\0' x; echo"
    result, lines = run(sh(script, tmp_path))
    assert result.exit_code == 0
    assert lines[0] == ("stdout", "a\ufffdb")
    assert lines[1] == ("stdout", "x" * 300000)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _gone(pid: int) -> bool:
    """Whether ``pid`` is dead, allowing a signal already sent a moment to land on a loaded machine."""
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _alive(pid)


def test_timeout_kills_the_whole_tree(tmp_path: Path) -> None:
    # The shell starts a child sleep in the background and records its pid, then blocks.
    result, lines = run(sh("sleep 300 & echo $! > child.pid; echo started; wait", tmp_path, timeout=0.5))
    assert result.timed_out and result.killed
    assert result.exit_code is not None and result.exit_code != 0
    assert lines == [("stdout", "started")]
    child = int((tmp_path / "child.pid").read_text())
    assert _gone(child)


def test_timeout_escalates_to_sigkill(tmp_path: Path) -> None:
    result, _ = run(sh("trap '' TERM; echo ready; sleep 300 & wait; wait", tmp_path, timeout=0.5))
    assert result.timed_out and result.killed
    assert result.exit_code == -9


def test_background_job_is_ended_when_the_main_process_exits(tmp_path: Path) -> None:
    result, _ = run(sh("sleep 300 >/dev/null 2>&1 & echo $! > child.pid", tmp_path))
    assert result.exit_code == 0 and not result.killed
    assert _gone(int((tmp_path / "child.pid").read_text()))


def test_cancel_kills_the_process(tmp_path: Path) -> None:
    async def go() -> RunResult:
        cancelled = asyncio.Event()

        def on_line(stream: str, line: str) -> None:
            cancelled.set()

        return await ProcessRunner(grace=1.0).run(
            sh("sleep 300 & echo $! > child.pid; echo started; wait", tmp_path),
            on_line=on_line,
            cancelled=cancelled,
        )

    result = asyncio.run(go())
    assert result.killed and not result.timed_out
    assert _gone(int((tmp_path / "child.pid").read_text()))


def test_cancelled_before_start_runs_nothing(tmp_path: Path) -> None:
    event = asyncio.Event()
    event.set()
    result, _ = run(sh("echo should-not-run > ran.txt", tmp_path), cancelled=event)
    assert result.killed and result.exit_code is None
    assert not (tmp_path / "ran.txt").exists()


def test_missing_command_is_a_task_error(tmp_path: Path) -> None:
    spec = ScriptSpec(argv=["/nonexistent/flowd-cmd"], workdir=tmp_path, env={}, timeout=None)
    with pytest.raises(TaskError, match="cannot start '/nonexistent/flowd-cmd'"):
        run(spec)


def test_runner_for_picks_by_kind() -> None:
    assert isinstance(runner_for("PROCESS"), ProcessRunner)
    assert isinstance(runner_for(""), ProcessRunner)
    assert isinstance(runner_for("io.kestra.plugin.core.runner.Process"), ProcessRunner)
    with pytest.raises(TaskError, match="unknown task runner 'KUBERNETES'"):
        runner_for("KUBERNETES")


def test_cancelling_the_awaiting_task_kills_the_process(tmp_path: Path) -> None:
    async def go() -> None:
        started = asyncio.Event()
        task = asyncio.ensure_future(
            ProcessRunner(grace=1.0).run(
                sh("sleep 300 & echo $! > child.pid; echo started; wait", tmp_path),
                on_line=lambda stream, line: started.set(),
                cancelled=asyncio.Event(),
            )
        )
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert _gone(int((tmp_path / "child.pid").read_text()))
