"""Run a script as a local subprocess (asyncio), in its own session so the whole tree can be killed.

The group dies with the daemon (the ``watchdog`` SIGKILLs it when the daemon process is gone), and the
running group is recorded so a restarted daemon ends whatever of it is left before running the task again
(see ``groups``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from daemon.errors import TaskError
from daemon.runners import child_watch, groups, watchdog
from daemon.runners.lines import LineSink, LineSplitter
from daemon.runners.spec import LineHandler, RunResult, ScriptSpec
from daemon.security.task_user import hand_over, task_ids

# Variables of the daemon's own environment a script may see; everything else (database URLs, tokens)
# stays private to the daemon. ``spec.env`` is merged on top.
BASE_ENV_KEYS = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
READ_CHUNK = 64 * 1024


def base_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The minimal environment every script starts from, taken from ``environ`` (the daemon's)."""
    env = {key: environ[key] for key in BASE_ENV_KEYS if key in environ}
    env.setdefault("PATH", DEFAULT_PATH)
    env.setdefault("LANG", "C.UTF-8")
    # Python scripts should stream their prints line by line, in utf-8, like a terminal would show them.
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


class ProcessRunner:
    """Runs ``spec.argv`` in ``spec.workdir`` as a child process of the daemon.

    The child leads a new session (so a process group of its own): on timeout or cancel the whole group
    gets SIGTERM, then SIGKILL after ``grace`` seconds. When the main process exits by itself, members of
    its group still alive (background jobs) are terminated the same way, so a task leaves nothing behind.
    """

    def __init__(self, *, grace: float = 3.0, environ: Mapping[str, str] | None = None) -> None:
        self._grace = grace
        self._base_env = base_env(os.environ if environ is None else environ)
        child_watch.install()  # no thread per child process (see child_watch)

    async def run(self, spec: ScriptSpec, *, on_line: LineHandler, cancelled: asyncio.Event) -> RunResult:
        """Run the process to its end, its timeout or a cancel; stream its lines to ``on_line``."""
        sink = LineSink(on_line)
        if cancelled.is_set():
            return RunResult(exit_code=None, outputs={}, killed=True)
        as_user: dict[str, Any] = {}
        ids = task_ids()  # FLOWD_TASK_USER: the task cannot read the daemon's /proc files (docs/security.md)
        if ids is not None:
            hand_over(Path(spec.workdir), ids)
            as_user = {"user": ids[0], "group": ids[1], "extra_groups": []}
        env = {**self._base_env, **spec.env}
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                cwd=spec.workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                **as_user,
            )
        except OSError as exc:
            what = spec.argv[0] if spec.argv else "<empty command>"
            raise TaskError(f"process: cannot start '{what}': {exc.strerror or exc}") from exc

        assert proc.stdout is not None and proc.stderr is not None
        guard = watchdog.shared()
        guard.watch(proc.pid)  # the group dies with this process, however it dies (see watchdog)
        registry = groups.registry()
        record = registry.record(proc.pid) if registry is not None else None
        try:
            return await self._follow(proc, spec, sink, cancelled)
        finally:
            guard.unwatch(proc.pid)
            if registry is not None:
                registry.forget(record)

    async def _follow(
        self, proc: asyncio.subprocess.Process, spec: ScriptSpec, sink: LineSink, cancelled: asyncio.Event
    ) -> RunResult:
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            asyncio.ensure_future(_pump(proc.stdout, LineSplitter("stdout", sink))),
            asyncio.ensure_future(_pump(proc.stderr, LineSplitter("stderr", sink))),
        ]
        exited = asyncio.ensure_future(proc.wait())
        cancel = asyncio.ensure_future(cancelled.wait())
        timed_out = killed = False
        try:
            done, _ = await asyncio.wait(
                {exited, cancel}, timeout=spec.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if exited not in done:
                killed = True
                timed_out = cancel not in done
                await self._stop_group(proc.pid, exited)
            elif _group_alive(proc.pid):
                await self._stop_group(proc.pid, exited)
            # Every writer is gone now, so the pipes reach EOF; the timeout guards against a
            # grandchild that escaped into its own session while holding our pipes.
            _, pending = await asyncio.wait(readers, timeout=self._grace)
            for reader in pending:
                reader.cancel()
        finally:
            cancel.cancel()
            if proc.returncode is None:  # the awaiting task itself was cancelled
                _signal_group(proc.pid, signal.SIGKILL)
                for reader in readers:
                    reader.cancel()
                # Reap the child so its transport closes while the loop still runs.
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(exited, self._grace)
        return RunResult(
            exit_code=proc.returncode,
            outputs=sink.outputs,
            timed_out=timed_out,
            killed=killed,
            metrics=sink.metrics,
        )

    async def _stop_group(self, pgid: int, exited: asyncio.Future[int]) -> None:
        """SIGTERM the process group, SIGKILL it after the grace period, and reap the leader."""
        _signal_group(pgid, signal.SIGTERM)
        await asyncio.wait({exited}, timeout=self._grace)
        # The leader may have gone while members of its group linger; kill them all.
        if _group_alive(pgid):
            if exited.done():
                await _wait_group_gone(pgid, self._grace)
            _signal_group(pgid, signal.SIGKILL)
        await exited


async def _pump(stream: asyncio.StreamReader, splitter: LineSplitter) -> None:
    """Read chunks (not lines: a line may be longer than the reader's limit) until EOF."""
    while chunk := await stream.read(READ_CHUNK):
        splitter.feed(chunk)
    splitter.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting for their reaper do not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Rare path: something answered. Under an init that is slow to reap (or a PID 1 that never does), only
    # zombies may be left; /proc tells them apart where it exists.
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    return any(entry.name.isdigit() and _live_member(entry / "stat", pgid) for entry in proc.iterdir())


def _live_member(stat_file: Path, pgid: int) -> bool:
    try:
        stat = stat_file.read_text()
    except OSError:
        return False
    # Fields after "(comm)": state ppid pgrp ...; comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X")


async def _wait_group_gone(pgid: int, grace: float) -> None:
    """Give members of a group that got SIGTERM up to ``grace`` seconds to exit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while _group_alive(pgid) and loop.time() < deadline:
        await asyncio.sleep(0.05)
