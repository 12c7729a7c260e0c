"""What every peer workload script shares: timestamps written from inside tasks, the result line, sizes.

A script prints one line ``BENCH {json}`` at its end; the harness reads it. Task timestamps are appended to
the file named by ``BENCH_TS_FILE`` (one ``name start end`` line per task, ``time.time()`` seconds), so the
harness sees them whatever process the framework ran the task in.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time


def stamp(name: str, start: float, end: float) -> None:
    """Record one task's start and end (O_APPEND: lines from concurrent tasks never interleave)."""
    path = os.environ.get("BENCH_TS_FILE")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{name} {start:.6f} {end:.6f}\n".encode())
        finally:
            os.close(fd)


def noop_body(name: str) -> None:
    """The body of a no-op task: only its timestamps."""
    start = time.time()
    stamp(name, start, time.time())


def echo_body(name: str) -> None:
    """The body of a shell task: ``sh -c 'echo hi'``, as the harness's bare subprocess floor does."""
    start = time.time()
    subprocess.run(["sh", "-c", "echo hi"], check=True, capture_output=True)
    stamp(name, start, time.time())


def sleep_body(name: str) -> None:
    """The body of a working fan-out task (W2s): ``sh -c 'sleep 0.05'``, as flowd's shell task runs it."""
    start = time.time()
    subprocess.run(["sh", "-c", "sleep 0.05"], check=True, capture_output=True)
    stamp(name, start, time.time())


def emit(**metrics: object) -> None:
    """Print the result line the harness parses."""
    print("BENCH " + json.dumps(metrics), flush=True)


def parse_args() -> argparse.Namespace:
    """``WORKLOAD [--n N] [--dir DIR]``; workloads: setup, w1, w2, w2s, w3, w4-prepare,
    w4, w5."""
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--dir", default=".")
    return parser.parse_args()


def timed(fn: object) -> float:
    """Seconds ``fn()`` took."""
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0
