"""Run one repetition in a fresh child process and measure it: wall time, CPU time, peak memory.

Peak memory is taken two ways and the larger is reported:
- ``os.wait4`` returns the child's rusage; its ``ru_maxrss`` is the kernel's high-water mark of the largest
  single process among the child and the descendants it waited for (exact, but not a sum: a Prefect server
  subprocess running next to the flow process is not added to it);
- a thread polls ``/proc`` every 20 ms and sums the RSS of the whole process tree (it adds concurrent
  processes up, but can miss a spike shorter than the period).
The sum over the tree is never below the largest process, so max(both) is the better estimate of each.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.02
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class Measured:
    """What one child process did."""

    argv: tuple[str, ...]
    returncode: int
    started: float  # time.time() just before the spawn
    wall_s: float
    cpu_s: float  # user + system of the child and its waited-for descendants
    peak_mb: float
    stdout: str
    stderr: str

    def check(self) -> Measured:
        """Raise ``RuntimeError`` with the tail of stderr when the child failed."""
        if self.returncode != 0:
            tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"{' '.join(self.argv[:4])}... exited {self.returncode}:\n{tail}")
        return self


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_rss_kb(root: int) -> int:
    """Sum of the resident set sizes of ``root`` and all its descendants, in KiB (0 once it is gone).

    A child whose memory counters equal its parent's exactly is not added: that is a child between
    ``vfork`` and ``exec`` (subprocess starts commands so), which shares its suspended parent's address
    space, so the same pages would otherwise count twice (the W5 peak of a 62 MB driver read 123 MB)."""
    total, stack = 0, [(root, "")]
    while stack:
        pid, parent_statm = stack.pop()
        try:
            statm = Path(f"/proc/{pid}/statm").read_text()
            if statm != parent_statm:
                total += int(statm.split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
        stack.extend((child, statm) for child in _children(pid))
    return total


class _Poller(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))
            self.stop.wait(POLL_SECONDS)


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 600.0,
) -> Measured:
    """Run ``argv`` to its end and measure it; output is captured (into files, so no pipe can fill up)."""
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}-{time.monotonic_ns()}"
    with open(f"{out_path}.out", "w+") as out, open(f"{out_path}.err", "w+") as err:
        started = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=dict(env) if env else None, cwd=cwd, stdout=out, stderr=err)
        poller = _Poller(proc.pid)
        poller.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # blocking: the harness takes no CPU from the run
        killer.cancel()
        wall = time.perf_counter() - t0
        poller.stop.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    peak_kb = max(poller.peak_kb, usage.ru_maxrss)  # ru_maxrss is in KiB on Linux
    return Measured(
        argv=tuple(argv),
        returncode=proc.returncode,
        started=started,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_mb=peak_kb / 1024,
        stdout=stdout,
        stderr=stderr,
    )
