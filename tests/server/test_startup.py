"""``flowd run`` start-up: the port first, safe exposure, the source mode said, executions logged, quiet
migrations, and a relative folder watched for real."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daemon.server.startup import StartupError, bind_listen, check_exposure, is_loopback
from daemon.store import Store
from tests.server.daemon_harness import FLOWD, GIVE_UP, free_port, wait_for

pytestmark = pytest.mark.integration

HELLO = """\
id: {flow_id}
namespace: test.startup
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
BROKEN = """\
id: broken
namespace: test.startup
tasks:
  - id: fail
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo 'disk is full' >&2; exit 3
"""


class Run:
    """``flowd run`` in a subprocess with its own home and SQLite file; output captured."""

    def __init__(
        self, tmp: Path, args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ):
        self.home = tmp / "home"
        self.db = tmp / "flowd.db"
        self.port = free_port()
        self.log = tmp / f"run-{self.port}.log"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FLOWD_")}
        environ |= {"FLOWD_HOME": str(self.home), "FLOWD_DATABASE_URL": f"sqlite:///{self.db}", **(env or {})}
        argv = [*FLOWD, "run", *args]
        if "--listen" not in args:
            argv += ["--listen", f"127.0.0.1:{self.port}"]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(argv, env=environ, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT)

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.output()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self) -> None:
        wait_for(self.healthy, "the daemon to answer")

    def exit_code(self) -> int:
        code = self.proc.wait(GIVE_UP)
        self._out.close()
        return code

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.exit_code()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "a.yml").write_text(HELLO.format(flow_id="a"))
    return folder


def deployed(db: Path, flow_id: str) -> bool:
    if not db.exists():
        return False
    with Store.open(f"sqlite:///{db}") as store:
        return store.flows.get("test.startup", flow_id) is not None


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


# --- pure checks ---------------------------------------------------------------------------------------


LOOPBACK = [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False),
            ("10.0.0.5", False)]  # fmt: skip


@pytest.mark.parametrize(("host", "loopback"), LOOPBACK)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_an_open_address_needs_a_token() -> None:
    with pytest.raises(StartupError, match="FLOWD_API_TOKEN"):
        check_exposure("0.0.0.0", api_token=None, allow_anonymous=False)
    assert check_exposure("0.0.0.0", api_token="t", allow_anonymous=False) is None
    assert check_exposure("127.0.0.1", api_token=None, allow_anonymous=False) is None
    warning = check_exposure("0.0.0.0", api_token=None, allow_anonymous=True)
    assert warning and "FLOWD_ALLOW_ANONYMOUS" in warning


def test_a_busy_port_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as info:
            bind_listen("127.0.0.1", port)
    assert f"port {port} is already in use" in info.value.message
    assert "--listen" in info.value.message


# --- the daemon ----------------------------------------------------------------------------------------


def test_busy_port_exits_non_zero_with_one_line_and_never_syncs(tmp_path: Path, flows: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = Run(tmp_path, ["--source", str(flows), "--listen", f"127.0.0.1:{port}"])
        code = run.exit_code()
    out = run.output()
    assert code == 2, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert f"port {port} is already in use" in lines[0] and "Traceback" not in out
    assert "listening" not in out
    assert not run.db.exists()  # the store was never opened, so nothing was synced


def test_non_loopback_without_token_is_refused(tmp_path: Path, flows: Path) -> None:
    run = Run(tmp_path, ["--source", str(flows), "--listen", f"0.0.0.0:{free_port()}"])
    assert run.exit_code() == 2
    assert "FLOWD_API_TOKEN" in run.output() and not run.db.exists()


def test_allow_anonymous_starts_with_a_warning(tmp_path: Path, flows: Path) -> None:
    port = free_port()
    run = Run(tmp_path, ["--source", str(flows), "--listen", f"0.0.0.0:{port}"],
              env={"FLOWD_ALLOW_ANONYMOUS": "1"})  # fmt: skip
    run.port = port
    try:
        run.wait_healthy()
    finally:
        assert run.stop() == 0
    assert "WARNING" in run.output() and "FLOWD_ALLOW_ANONYMOUS=1" in run.output()


@pytest.fixture
def running(tmp_path: Path, flows: Path) -> Iterator[Run]:
    (flows / "broken.yml").write_text(BROKEN)
    git(flows, "init", "-q")  # a folder that is a Git repository, read as a folder
    run = Run(tmp_path, ["--source", ".", "--interval", "1h"], cwd=flows)
    run.wait_healthy()
    yield run
    assert run.stop() == 0, run.output()


def test_relative_folder_is_watched_and_the_mode_said(running: Run, flows: Path) -> None:
    wait_for(lambda: deployed(running.db, "a"), "the first sync")
    (flows / "b.yml").write_text(HELLO.format(flow_id="b"))  # the interval is 1 h: only the watch sees it
    wait_for(lambda: deployed(running.db, "b"), "the saved file to be deployed by the watch")
    out = running.output()
    assert "not under watched root" not in out
    assert f"source: folder {flows.resolve()}, read as saved" in out
    assert "--follow-commits" in out
    assert "alembic" not in out.lower() and "Running upgrade" not in out


def test_each_execution_start_and_end_is_one_info_line(running: Run, flows: Path) -> None:
    wait_for(lambda: deployed(running.db, "broken"), "the first sync")
    env = {**os.environ, "FLOWD_HOME": str(running.home), "FLOWD_DATABASE_URL": f"sqlite:///{running.db}"}
    for flow in ("a", "broken"):
        subprocess.run([*FLOWD, "execute", f"test.startup/{flow}"], env=env, capture_output=True,
                       timeout=GIVE_UP)  # fmt: skip
    wait_for(lambda: "of test.startup/broken ended" in running.output(), "the end line")
    out = running.output()
    started = [line for line in out.splitlines() if "of test.startup/a started" in line]
    ended = [line for line in out.splitlines() if "of test.startup/a ended SUCCESS in" in line]
    assert len(started) == 1 and len(ended) == 1 and " INFO " in ended[0], out
    (failed,) = [line for line in out.splitlines() if "of test.startup/broken ended FAILED" in line]
    assert "fail:" in failed and ("disk is full" in failed or "exit" in failed), failed


def test_follow_commits_deploys_commits_only(tmp_path: Path, flows: Path) -> None:
    git(flows, "init", "-q")
    git(flows, "add", "-A")
    git(flows, "commit", "-qm", "first")
    head = git(flows, "rev-parse", "HEAD").strip()
    run = Run(tmp_path, ["--source", ".", "--follow-commits", "--interval", "0.2s"], cwd=flows)
    try:
        run.wait_healthy()
        wait_for(lambda: deployed(run.db, "a"), "the committed flow")
        (flows / "b.yml").write_text(HELLO.format(flow_id="b"))
        git(flows, "add", "-A")
        git(flows, "commit", "-qm", "second")
        wait_for(lambda: deployed(run.db, "b"), "the committed flow b")
        (flows / "c.yml").write_text(HELLO.format(flow_id="c"))  # saved, never committed
        second = git(flows, "rev-parse", "HEAD").strip()
        with Store.open(f"sqlite:///{run.db}") as store:
            assert store.flows.get("test.startup", "a").commit == head
            assert store.flows.get("test.startup", "b").commit == second
    finally:
        assert run.stop() == 0, run.output()
    assert not deployed(run.db, "c")
    assert f"source: local Git repository {flows.resolve()}, following its commits" in run.output()
