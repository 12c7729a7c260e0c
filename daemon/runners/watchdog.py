"""A tiny shell process per daemon that SIGKILLs the task process groups still running when the daemon dies.

Task processes must not outlive their daemon unnoticed (``groups`` explains the second guard, the records
a restarted daemon reaps). This guard used to be ``setpriv --pdeathsig KILL`` put in front of every task
command; its extra ``exec`` cost ~0.8 ms of every task start (bench W5: 100 sequential shell tasks), and
the signal reached the group leader only, so a shell's background children lived on. A ``preexec_fn``
doing the same prctl costs more (Python then forks without vfork).

So instead one ``/bin/sh`` per daemon process reads lines from a pipe only the daemon holds:
``+<pgid>`` when a task group starts, ``-<pgid>`` when it has ended. When the daemon dies, however it dies
(``kill -9`` included), the kernel closes the pipe, the shell reads EOF and SIGKILLs every group still
listed: the whole group, background children too. Telling it costs one small ``write`` per start and per
end. The shell runs in a session of its own and ignores the signals a terminal or a service manager sends
the daemon's group, so it outlives the daemon long enough to do its one job.

Gaps, covered by the group records (``groups.GroupRegistry``) of a daemon started again on the host: a
daemon killed between a task's start and its ``+`` line (microseconds), and a watchdog killed on its own
(the next line restarts it and lists the running groups again).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading

# ``live`` holds " 12 34 " (space-separated, space-ended) so one group is found and cut out with
# parameter expansions alone: no subshell per line.
SCRIPT = r"""
trap '' HUP INT TERM QUIT PIPE
live=" "
while IFS= read -r line; do
  case $line in
    +*) live="$live${line#+} " ;;
    -*) g=${line#-}
        case $live in *" $g "*) live="${live%% $g *} ${live#* $g }" ;; esac ;;
  esac
done
for g in $live; do kill -KILL "-$g" 2>/dev/null; done
"""


class GroupWatchdog:
    """The daemon's side of the watchdog: starts it on first use and tells it which groups run."""

    def __init__(self, shell: str = "/bin/sh") -> None:
        self._shell = shell
        self._lock = threading.Lock()
        self._live: set[int] = set()
        self._proc: subprocess.Popen[bytes] | None = None

    def watch(self, pgid: int) -> None:
        """Group ``pgid`` has started: SIGKILL it if this process dies before :meth:`unwatch`."""
        with self._lock:
            self._live.add(pgid)
            self._send(f"+{pgid}\n")

    def unwatch(self, pgid: int) -> None:
        """Group ``pgid`` has ended (or was stopped): no longer any of the watchdog's business."""
        with self._lock:
            if pgid in self._live:
                self._live.discard(pgid)
                self._send(f"-{pgid}\n")

    def watched(self) -> frozenset[int]:
        """The groups the watchdog would kill now."""
        with self._lock:
            return frozenset(self._live)

    def pid(self) -> int | None:
        """The watchdog shell's pid (None before the first group)."""
        return self._proc.pid if self._proc is not None else None

    def _send(self, line: str) -> None:
        for _ in range(2):  # a watchdog found dead is started again once, with every live group listed
            if self._proc is None or self._proc.poll() is not None:
                if not self._start():
                    return
                if line.startswith("+"):
                    return  # _start listed every live group, this one included
            assert self._proc is not None and self._proc.stdin is not None
            try:
                os.write(self._proc.stdin.fileno(), line.encode())
                return
            except OSError:  # the watchdog died: start it again
                self._stop()

    def _start(self) -> bool:
        try:
            self._proc = subprocess.Popen(
                [self._shell, "-c", SCRIPT],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # not in the daemon's group: its signals are not the watchdog's
            )
        except OSError:
            self._proc = None
            return False  # no shell: the group records remain the only guard
        assert self._proc.stdin is not None
        if self._live:
            text = "".join(f"+{pgid}\n" for pgid in sorted(self._live))
            with contextlib.suppress(OSError):
                os.write(self._proc.stdin.fileno(), text.encode())
        return True

    def _stop(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()
            self._proc.wait()
        self._proc = None

    def forget_in_child(self) -> None:
        """In a forked child: drop the parent's pipe, so the watchdog still sees EOF when the parent dies
        (the child starts a watchdog of its own if it runs tasks)."""
        self._lock = threading.Lock()
        self._live = set()
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        self._proc = None


_shared = GroupWatchdog()
os.register_at_fork(after_in_child=lambda: _shared.forget_in_child())


def shared() -> GroupWatchdog:
    """This process's watchdog (one per process: it watches for this process's death)."""
    return _shared
