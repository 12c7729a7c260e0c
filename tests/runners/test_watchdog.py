"""Task process groups die with the daemon process, however it dies (``runners.watchdog``): the whole
group, background children too; an ended group is left alone; a watchdog killed on its own comes back
with every running group; a forked child of the daemon does not keep the watchdog from seeing its death."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from daemon.runners import watchdog
from daemon.runners.process import ProcessRunner
from daemon.runners.spec import ScriptSpec

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A stand-in daemon: starts groups (a shell leader with a background child), tells its watchdog as the
# process runner does, prints what it started, then waits to be killed.
DAEMON = textwrap.dedent(
    """
    import json, os, signal, subprocess, sys, time
    from daemon.runners import watchdog
    guard = watchdog.shared()
    groups = []
    for _ in range(int(sys.argv[1])):
        leader = subprocess.Popen(["/bin/sh", "-c", "sleep 300 & sleep 300"], start_new_session=True)
        guard.watch(leader.pid)
        groups.append(leader.pid)
    actions = sys.argv[2].split(",") if len(sys.argv) > 2 else []
    if "unwatch-first" in actions:
        guard.unwatch(groups[0])
    if "kill-watchdog" in actions:
        os.kill(guard.pid(), signal.SIGKILL)
        time.sleep(0.2)
        leader = subprocess.Popen(["/bin/sh", "-c", "sleep 300 & sleep 300"], start_new_session=True)
        guard.watch(leader.pid)  # finds the watchdog dead: starts it again, listing every group
        groups.append(leader.pid)
    if "fork" in actions and os.fork() == 0:
        time.sleep(300)  # a forked child living on must not hold the watchdog's pipe open
        os._exit(0)
    time.sleep(0.3)  # let the shells start their background sleeps
    print(json.dumps({"groups": groups, "watchdog": guard.pid()}), flush=True)
    time.sleep(300)
    """
)


def _members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _start_daemon(n: int, actions: str = "") -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", DAEMON, str(n), actions], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    started = json.loads(proc.stdout.readline())
    groups: list[int] = started["groups"]
    for pgid in groups:
        assert len(_members(pgid)) >= 2, "the leader shell and its background sleep"
    return proc, groups


def _kill_groups(groups: list[int]) -> None:
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_kill_9_of_the_daemon_kills_every_watched_group_background_children_included() -> None:
    proc, groups = _start_daemon(3)
    try:
        proc.kill()
        proc.wait()
        assert _wait_until(lambda: not any(_members(g) for g in groups)), [_members(g) for g in groups]
    finally:
        _kill_groups(groups)


def test_an_unwatched_group_lives_on() -> None:
    proc, groups = _start_daemon(2, "unwatch-first")
    try:
        proc.kill()
        proc.wait()
        assert _wait_until(lambda: not _members(groups[1]))
        time.sleep(0.3)
        assert len(_members(groups[0])) >= 2
    finally:
        _kill_groups(groups)


def test_a_watchdog_killed_on_its_own_comes_back_with_every_running_group() -> None:
    proc, groups = _start_daemon(2, "kill-watchdog")
    try:
        assert len(groups) == 3
        proc.kill()
        proc.wait()
        assert _wait_until(lambda: not any(_members(g) for g in groups)), [_members(g) for g in groups]
    finally:
        _kill_groups(groups)


def test_a_forked_child_of_the_daemon_does_not_keep_the_watchdog_waiting() -> None:
    proc, groups = _start_daemon(1, "fork")
    try:
        proc.kill()
        proc.wait()
        assert _wait_until(lambda: not _members(groups[0]))
    finally:
        _kill_groups(groups)
        subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)


def test_the_process_runner_watches_a_task_while_it_runs_and_not_after(tmp_path: Path) -> None:
    seen: list[tuple[int, frozenset[int]]] = []

    def on_line(stream: str, line: str) -> None:
        seen.append((int(line), watchdog.shared().watched()))

    spec = ScriptSpec(argv=["/bin/sh", "-c", "echo $$"], workdir=tmp_path, env={}, timeout=10)
    result = asyncio.run(ProcessRunner().run(spec, on_line=on_line, cancelled=asyncio.Event()))
    assert result.exit_code == 0
    assert len(seen) == 1
    pid, watched = seen[0]
    assert pid in watched  # the task's group (its shell's pid) was watched while it ran
    assert watchdog.shared().watched() == frozenset()
