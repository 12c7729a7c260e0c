"""Task processes are waited for on the loop that started them, without a thread per child
(``runners.child_watch``), from any loop: one after another, and two at once in two threads."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

from daemon.runners import child_watch
from daemon.runners.process import ProcessRunner
from daemon.runners.spec import ScriptSpec

needs_pidfd = pytest.mark.skipif(
    sys.version_info >= (3, 12) or not child_watch.install(), reason="Python 3.12 waits with pidfds itself"
)


async def _run(tmp_path: Path, command: str) -> tuple[int | None, list[str]]:
    lines: list[str] = []
    spec = ScriptSpec(argv=["/bin/sh", "-c", command], workdir=tmp_path, env={}, timeout=10)
    result = await ProcessRunner().run(
        spec, on_line=lambda _s, line: lines.append(line), cancelled=asyncio.Event()
    )
    return result.exit_code, lines


@needs_pidfd
def test_no_waitpid_thread_is_started(tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    assert asyncio.run(_run(tmp_path, "echo hi; exit 3")) == (3, ["hi"])
    started = {t.name for t in threading.enumerate()} - before
    assert not any("waitpid" in name for name in started)
    assert isinstance(asyncio.get_child_watcher(), child_watch.PidfdWatcher)


@needs_pidfd
def test_processes_run_on_one_loop_after_another_and_on_two_at_once(tmp_path: Path) -> None:
    for code in (0, 1, 2):
        assert asyncio.run(_run(tmp_path, f"exit {code}"))[0] == code
    results: dict[int, tuple[int | None, list[str]]] = {}

    def in_thread(i: int) -> None:
        results[i] = asyncio.run(_run(tmp_path, f"sleep 0.2; echo {i}; exit {i}"))

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in (4, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {4: (4, ["4"]), 5: (5, ["5"])}


@needs_pidfd
def test_a_killed_process_reports_its_signal(tmp_path: Path) -> None:
    assert asyncio.run(_run(tmp_path, "kill -9 $$"))[0] == -9
