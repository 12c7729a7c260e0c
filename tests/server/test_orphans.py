"""A task's processes never outlive a ``kill -9``-ed daemon unnoticed: the restarted daemon ends them before
it runs the task again, so two attempts never append to the same file at the same time."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.store import Store
from tests.server.daemon_harness import FLOWD, DaemonProcess, wait_for

pytestmark = pytest.mark.integration

# the appending loop runs in a background subshell: it is not the group leader, so the parent-death
# signal alone does not stop it; only the recorded process group does
APPENDER = """
id: appender
namespace: test.orphans
tasks:
  - id: append
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - tok=$(date +%s%N)
      - ( while true; do echo "$tok" >> {out}; sleep 0.05; done ) &
      - bg=$!
      - sleep 4
      - kill $bg
"""


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def tokens(out: Path) -> list[str]:
    return out.read_text().split() if out.exists() else []


def overlapping(lines: list[str]) -> list[str]:
    """Tokens that appear again after a later attempt's token appeared (two attempts writing at once)."""
    seen: list[str] = []
    bad = []
    for tok in lines:
        if seen and tok != seen[-1]:
            if tok in seen:
                bad.append(tok)
            else:
                seen.append(tok)
        elif not seen:
            seen.append(tok)
    return bad


def test_restart_ends_the_orphan_before_the_rerun(tmp_path: Path, db_url: str, store: Store) -> None:
    flows, home, out = tmp_path / "flows", tmp_path / "home", tmp_path / "appends.txt"
    flows.mkdir()
    home.mkdir()
    (flows / "appender.yml").write_text(APPENDER.replace("{out}", str(out)))
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home)
    wait_for(lambda: store.flows.get("test.orphans", "appender") is not None, "deployment")
    subprocess.run(
        [*FLOWD, "execute", "test.orphans/appender", "--db", db_url, "--no-wait"],
        env={"FLOWD_HOME": str(home), "PATH": "/usr/bin:/bin"}, check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    wait_for(lambda: len(tokens(out)) >= 3, "the task to append")
    daemon.stop(signal.SIGKILL)
    daemon = DaemonProcess(source=flows, db_url=db_url, home=home)
    try:
        wait_for(lambda: len(set(tokens(out))) >= 2, "the re-run to append")
        (execution,) = store.executions.list(namespace="test.orphans", flow_id="appender")
        ended = wait_for(
            lambda: (row := store.executions.get(execution.id)) is not None and row.end_date and row,
            "the re-run to end",
        )
        assert ended.state == "SUCCESS", store.logs.for_execution(execution.id)
    finally:
        assert daemon.stop() == 0, daemon.output()
    lines = tokens(out)
    assert len(set(lines)) == 2, "one interrupted attempt and one re-run"
    assert not overlapping(lines), f"the first attempt kept appending after the re-run started: {lines}"
