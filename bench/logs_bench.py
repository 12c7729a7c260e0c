"""Log volume against the daemon's memory: a streamed download, a page, and a task printing 30 MB.

Method: ``flowd run`` as a subprocess on a fresh SQLite database (``--db`` for another); N log lines of about
100 bytes (default 500,000, ~50 MB of text) are inserted straight into the store for one execution; then
``GET /api/v1/logs/{id}/download`` is streamed with httpx and ``GET /api/v1/logs/{id}`` fetches one page.
Figures: wall time, bytes received, and the daemon's peak resident memory (VmHWM from /proc, read as the same
user: run as root, since the daemon is non-dumpable) before and after each step.

    python bench/logs_bench.py [N] [--db URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.store import Execution, LogEntry, Store
from tests.server.daemon_harness import DaemonProcess


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=500_000)
    parser.add_argument("--db")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="flowd-logs-bench-"))
    db = args.db or f"sqlite:///{root / 'flowd.db'}"
    (root / "flows").mkdir()
    (root / "home").mkdir()
    store = Store.open(db)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    execution = Execution(
        id="bench", namespace="b", flow_id="f", flow_revision=1, state="SUCCESS", start_date=t0
    )
    store.executions.create(execution)
    started = time.perf_counter()
    batch = 10_000
    for first in range(0, args.n, batch):
        text = "x" * 80
        store.logs.insert(
            [
                LogEntry("bench", "INFO", t0, f"line {i:09d} {text}", task_id="t", task_run_id="r", attempt=1)
                for i in range(first, min(first + batch, args.n))
            ]
        )
    print(f"{args.n} lines inserted in {time.perf_counter() - started:.1f} s")
    daemon = DaemonProcess(source=root / "flows", db_url=db, home=root / "home")
    pid = daemon.proc.pid
    base = f"http://127.0.0.1:{daemon.port}/api/v1/logs/bench"
    try:
        print(f"daemon idle: peak RSS {peak_mb(pid):.0f} MB")
        started, received = time.perf_counter(), 0
        with httpx.stream("GET", f"{base}/download", timeout=600) as response:
            for chunk in response.iter_bytes():
                received += len(chunk)
        print(f"download: {received / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s; "
              f"daemon peak RSS {peak_mb(pid):.0f} MB")  # fmt: skip
        started = time.perf_counter()
        page = httpx.get(base, params={"page": 3, "size": 1000}, timeout=60)
        took = time.perf_counter() - started
        print(f"page 3 of 1000 lines: {len(page.content) / 1e3:.0f} kB in {took:.2f} s, "
              f"total {page.headers['x-total-count']}; daemon peak RSS {peak_mb(pid):.0f} MB")  # fmt: skip
    finally:
        daemon.stop()
        store.close()


if __name__ == "__main__":
    main()
