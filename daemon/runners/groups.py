"""Task process groups that must not outlive their daemon unnoticed.

Two guards, because either alone leaves a gap:
- the process runner tells the daemon's ``watchdog`` (a small shell process) about each running group; when
  the daemon process dies, however it dies, the watchdog SIGKILLs the groups still running. A daemon killed
  in the microseconds between a start and that message, or a watchdog killed on its own, leave a gap;
- so every running group is also recorded in a file (``GroupRecord``: its process group id, the leader's
  start time, and the daemon's pid and start time) under the daemon's home. A daemon starting on the same
  host ends the recorded groups of daemons that no longer run (``reap_orphans``) *before* its executor
  adopts and re-runs their interrupted tasks, so an attempt never runs twice at the same time.

The start times tell a recorded process from a later one that reuses its pid: only members of the group
that started at or after the recorded leader are signalled. Without ``/proc`` (not Linux) the records are
kept but nothing is signalled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROC = Path("/proc")


def start_time(pid: int) -> int | None:
    """A process's start time (clock ticks since boot, ``/proc/<pid>/stat`` field 22); None when gone."""
    fields = _stat(PROC / str(pid) / "stat")
    return int(fields[19]) if fields and len(fields) > 19 else None


def _stat(path: Path) -> list[str] | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # fields after "(comm)", which may hold spaces


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A running task's process group, and the daemon that started it."""

    pgid: int
    started: int
    daemon_pid: int
    daemon_started: int | None


class GroupRegistry:
    """Records of running task process groups, one file each under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._me = os.getpid()
        self._my_start = start_time(self._me)

    def record(self, pgid: int) -> Path | None:
        """Record a group just started (its leader's pid is ``pgid``); returns the record's file."""
        started = start_time(pgid)
        if started is None:
            return None  # already gone, or no /proc: nothing a later daemon could check
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{self._me}-{pgid}.json"
        path.write_text(json.dumps(asdict(GroupRecord(pgid, started, self._me, self._my_start))))
        return path

    def forget(self, path: Path | None) -> None:
        """The group ended (or was stopped): drop its record."""
        if path is not None:
            path.unlink(missing_ok=True)

    def reap_orphans(self, *, grace: float = 5.0) -> int:
        """End the recorded groups of daemons that no longer run; returns how many groups had members."""
        if not self.root.is_dir() or not PROC.is_dir():
            return 0
        reaped = 0
        for path in sorted(self.root.glob("*.json")):
            try:
                record = GroupRecord(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                path.unlink(missing_ok=True)
                continue
            if record.daemon_pid != self._me and _running(record.daemon_pid, record.daemon_started):
                continue  # another live daemon on this host owns it
            if _end_group(record, grace):
                reaped += 1
                log.warning("ended process group %d left running by a daemon that is gone", record.pgid)
            path.unlink(missing_ok=True)
        return reaped


def _running(pid: int, started: int | None) -> bool:
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def members(record: GroupRecord) -> list[int]:
    """Live (not zombie) processes of the recorded group that started no earlier than its leader."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry / "stat")
        if (
            fields
            and len(fields) > 19
            and fields[2] == str(record.pgid)
            and fields[0] not in ("Z", "X")
            and int(fields[19]) >= record.started
        ):
            found.append(int(entry.name))
    return found


def _end_group(record: GroupRecord, grace: float) -> bool:
    pids = members(record)
    if not pids:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 10.0)
        while (pids := members(record)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pids:
            break
    return True


_registry: GroupRegistry | None = None


def configure(root: Path | None) -> GroupRegistry | None:
    """Set (or clear) the registry the process runner records groups in; the daemon calls it at start."""
    global _registry
    _registry = GroupRegistry(root) if root is not None else None
    return _registry


def registry() -> GroupRegistry | None:
    """The registry set by ``configure``; None outside a daemon (``flowd execute`` records nothing)."""
    return _registry
