"""``flowd execute`` says what happens: the id at once, log lines as they come, the tree with a failed task's
error, every bad input at once, and Ctrl-C leaves a daemon's execution running (or kills it on request)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.store import Store
from tests.engine.conftest import deploy
from tests.server.daemon_harness import FLOWD, GIVE_UP, DaemonProcess, wait_for

FLOW = """
id: hello
namespace: test
inputs:
  - {id: n, type: INT, defaults: 1}
  - {id: day, type: DATE, required: false}
tasks:
  - {id: say, type: io.kestra.plugin.core.log.Log, message: "n={{ inputs.n }}"}
"""
FAILING = """
id: bad
namespace: test
tasks:
  - {id: ok, type: io.kestra.plugin.core.log.Log, message: fine}
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "the disk is full\\nsecond line of detail"
"""
SLOW = """
id: slow
namespace: test
tasks:
  - {id: wait, type: io.kestra.plugin.core.flow.Sleep, duration: PT60S}
"""


@pytest.fixture
def db(store: Store, db_url: str, flowd_home: Path) -> str:
    deploy(store, FLOW)
    deploy(store, FAILING)
    return db_url


def test_the_id_comes_first_then_the_log_lines_then_the_tree(db: str, store: Store) -> None:
    result = CliRunner().invoke(cli, ["execute", "test/hello", "-i", "n=7", "--db", db])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    (row,) = store.executions.list(namespace="test", flow_id="hello")
    assert lines[0].startswith(f"execution {row.id} of test/hello revision 1")
    assert any("say" in line and "n=7" in line for line in lines[1:])  # the Log task's line, streamed
    assert any("say" in line and "SUCCESS" in line for line in lines)


def test_quiet_prints_only_the_id_and_the_end(db: str) -> None:
    result = CliRunner().invoke(cli, ["execute", "test/hello", "--quiet", "--db", db])
    assert result.exit_code == 0, result.output
    assert "n=1" not in result.output and "SUCCESS" in result.output


def test_a_failed_task_shows_the_first_line_of_its_error(db: str) -> None:
    result = CliRunner().invoke(cli, ["execute", "test/bad", "--quiet", "--db", db])
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if "boom" in line]
    assert "FAILED" in line and "the disk is full" in line
    assert "second line of detail" not in result.output


def test_every_bad_input_is_reported_at_once_and_nothing_is_created(db: str, store: Store) -> None:
    result = CliRunner().invoke(
        cli, ["execute", "test/hello", "-i", "nosuch=1", "-i", "n=abc", "-i", "dya=2024-01-01", "--db", db]
    )
    assert result.exit_code == 2
    assert "3 problems" in result.output
    assert "input 'nosuch': the flow has no such input" in result.output
    assert "input 'dya'" in result.output and "did you mean 'day'" in result.output
    assert "input 'n'" in result.output
    assert store.executions.list() == []


# --- Ctrl-C with a daemon running ----------------------------------------------------------------------


class Daemon:
    def __init__(self, tmp_path: Path) -> None:
        flows = tmp_path / "flows"
        flows.mkdir()
        (flows / "slow.yml").write_text(SLOW)
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.db_url = f"sqlite:///{tmp_path / 'daemon.db'}"
        self.process = DaemonProcess(source=flows, db_url=self.db_url, home=self.home)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path)
    yield running
    running.process.stop()


def _interrupt(daemon: Daemon, *extra: str) -> tuple[int, str, str]:
    env = {**os.environ, "FLOWD_HOME": str(daemon.home), "FLOWD_DATABASE_URL": daemon.db_url}
    with Store.open(daemon.db_url) as store:
        wait_for(lambda: store.flows.get("test", "slow"), "the slow flow to be deployed")
        proc = subprocess.Popen([*FLOWD, "execute", "test/slow", *extra], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        running = wait_for(
            lambda: [
                r for r in store.executions.list(namespace="test", flow_id="slow") if r.state == "RUNNING"
            ],
            "the execution to run",
        )
        time.sleep(0.5)  # let the command enter its follow loop
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=GIVE_UP)
        return proc.returncode, out + err, running[0].id


@pytest.mark.integration
def test_ctrl_c_leaves_the_execution_running_and_says_how_to_kill_it(daemon: Daemon) -> None:
    code, out, execution_id = _interrupt(daemon)
    assert code == 130, out
    assert out.splitlines()[0].startswith(f"execution {execution_id}")  # the id, at once
    assert f"execution {execution_id} keeps running in the daemon" in out
    assert f"flowd kill {execution_id}" in out
    with Store.open(daemon.db_url) as store:
        assert store.executions.get(execution_id).state == "RUNNING"


@pytest.mark.integration
def test_kill_on_interrupt_kills_it(daemon: Daemon) -> None:
    code, out, execution_id = _interrupt(daemon, "--kill-on-interrupt")
    assert code == 130 and "killed" in out, out
    with Store.open(daemon.db_url) as store:
        wait_for(lambda: store.executions.get(execution_id).state == "KILLED", "the kill to finish")


TICKING = """
id: ticking
namespace: test
tasks:
  - id: first
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ["echo started; sleep 1.5; echo done"]
  - {id: second, type: io.kestra.plugin.core.log.Log, message: after}
"""


@pytest.mark.integration
def test_on_a_terminal_the_tree_is_live(tmp_path: Path, flowd_home: Path) -> None:
    """Run in a pseudo-terminal: the running task's state is drawn while it runs, then the final tree."""
    import pty

    db = f"sqlite:///{tmp_path / 'tty.db'}"
    with Store.open(db) as store:
        deploy(store, TICKING)
    env = {**os.environ, "FLOWD_HOME": str(flowd_home), "COLUMNS": "100", "TERM": "xterm"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: flowd execute on the terminal
        os.execvpe(FLOWD[0], [*FLOWD, "execute", "test/ticking", "--local", "--db", db], env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data.decode(errors="replace"))
    _, status = os.waitpid(pid, 0)
    screen = "".join(chunks)
    assert os.waitstatus_to_exitcode(status) == 0, screen
    assert "first" in screen and "RUNNING" in screen  # drawn while it ran
    assert "started" in screen and "second" in screen and "SUCCESS" in screen
