"""A task process dies with the daemon thread that started it (``groups.pdeath_command``), whether the
guard is ``setpriv`` or the ``preexec_fn`` fallback; a command that cannot be found still fails to start."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.runners import groups

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _start_in_a_thread_that_ends(argv: list[str], preexec: Callable[[], None] | None, cwd: Path) -> int:
    box: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> None:
        box["proc"] = proc = subprocess.Popen(argv, cwd=cwd, start_new_session=True, preexec_fn=preexec)
        # the guard is set before the command runs (setpriv execs it): wait for the command itself, so the
        # thread does not end in the microseconds between fork and prctl (a daemon's starting thread lives on)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _comm(proc.pid) != "sleep":
            time.sleep(0.01)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()  # the starting thread is gone: the kernel sends the child SIGKILL
    proc = box["proc"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    return proc.pid


@pytest.mark.parametrize("wrapper", ["setpriv", "preexec"])
def test_a_task_dies_with_the_thread_that_started_it(
    tmp_path: Path, wrapper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if wrapper == "setpriv" and groups._setpriv() is None:
        pytest.skip("no setpriv with --pdeathsig here")
    if wrapper == "preexec":
        monkeypatch.setattr(groups, "_setpriv", lambda: None)
    argv, preexec = groups.pdeath_command(["sleep", "30"], str(tmp_path), os.environ.get("PATH"))
    assert (argv[0] == "sleep") == (wrapper == "preexec")
    pid = _start_in_a_thread_that_ends(argv, preexec, tmp_path)
    assert not _alive(pid), "the task outlived the thread that started it"


def test_an_unknown_command_is_not_wrapped_and_fails_to_start(tmp_path: Path) -> None:
    argv, preexec = groups.pdeath_command(["no-such-command-xyz"], str(tmp_path), os.environ.get("PATH"))
    assert argv == ["no-such-command-xyz"] and preexec is groups.pdeath_preexec
    with pytest.raises(OSError):
        subprocess.Popen(argv, cwd=tmp_path, preexec_fn=preexec)


def test_a_relative_command_is_found_in_the_workdir(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    argv, _ = groups.pdeath_command(["./run.sh"], str(tmp_path), os.environ.get("PATH"))
    assert argv[-1] == "./run.sh"
    out = subprocess.run(argv, cwd=tmp_path, capture_output=True, check=True)
    assert out.stdout == b"hi\n"
