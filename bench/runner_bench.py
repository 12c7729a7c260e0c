"""Per-task overhead of ProcessRunner over a bare ``subprocess.run`` of the same command.

Method: run ``/bin/sh -c 'echo hi'`` N times sequentially (default 100) both ways, after a few warm-up
runs, and repeat the pair of measurements ROUNDS times (default 5), keeping the best round of each (the
least disturbed by other load). Overhead per task = (runner total - bare total) / N. The runner side
includes everything a task pays: event loop scheduling, the asyncio subprocess transport, line splitting,
protocol parsing and the on_line callback. Budget: 5 ms per task.

    python bench/runner_bench.py [N] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from daemon.runners.process import ProcessRunner
from daemon.runners.spec import ScriptSpec

ARGV = ["/bin/sh", "-c", "echo hi"]
BUDGET_MS = 5.0


def bare(n: int, workdir: Path) -> float:
    """Seconds for n sequential ``subprocess.run`` calls capturing output."""
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run(ARGV, cwd=workdir, capture_output=True, check=True)
    return time.perf_counter() - start


async def with_runner(n: int, workdir: Path) -> float:
    """Seconds for n sequential ProcessRunner runs (lines collected like the engine would)."""
    runner = ProcessRunner()
    spec = ScriptSpec(argv=ARGV, workdir=workdir, env={}, timeout=60)
    lines: list[str] = []
    cancelled = asyncio.Event()
    start = time.perf_counter()
    for _ in range(n):
        result = await runner.run(spec, on_line=lambda _s, line: lines.append(line), cancelled=cancelled)
        assert result.exit_code == 0
    elapsed = time.perf_counter() - start
    assert lines == ["hi"] * n
    return elapsed


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bare(5, workdir)
        asyncio.run(with_runner(5, workdir))
        bare_best = min(bare(n, workdir) for _ in range(rounds))
        runner_best = min(asyncio.run(with_runner(n, workdir)) for _ in range(rounds))
    overhead_ms = (runner_best - bare_best) / n * 1000
    print(f"method: {n} sequential '{' '.join(ARGV)}' per side, best of {rounds} rounds, after warm-up")
    print(f"bare subprocess.run: {bare_best / n * 1000:.3f} ms/task")
    print(f"ProcessRunner:       {runner_best / n * 1000:.3f} ms/task")
    print(f"overhead:            {overhead_ms:.3f} ms/task (budget {BUDGET_MS} ms)")
    return 0 if overhead_ms <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
