"""Sequential planning cost: cProfile call counts of the planner for a flow of N sequential tasks.

Method: deploy ``flowgen.shell(n)`` (N shell ``echo hi`` tasks, process runner) or ``flowgen.chain(n)``
(N inline Return tasks) on SQLite (a tmp file), then run one execution under cProfile (``create_execution``
+ ``run_until_done``, 8 workers, the real plugins) and print the calls and own/cumulative time of the
planner's ``_visit`` and ``_seq``, and the window. Counts are the figure to compare (they do not depend on
the machine's load): a planner that walks the sequence from its first task at every step makes ``_visit``
calls grow as N^2/2, a linear one as a few per task.

Usage: python bench/seq_plan_bench.py [--sizes 100,300] [--flow shell|chain]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import flowgen

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS


def _stat(stats: pstats.Stats, name: str) -> tuple[int, float, float]:
    """(calls, own seconds, cumulative seconds) of the planner function ``name``."""
    for (path, _, func), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and path.endswith("planner.py"):
            return calls, tottime, cumtime
    return 0, 0.0, 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,300")
    parser.add_argument("--flow", choices=["shell", "chain"], default="shell")
    args = parser.parse_args()
    make = flowgen.shell if args.flow == "shell" else flowgen.chain
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(f"sqlite:///{tmp}/bench.db")
            executor = Executor(
                store, Settings(home=Path(tmp) / "home"), SystemClock(), PLUGINS, workers=8, environ={}
            )
            source = make(n)
            flow_id = source.split("\n", 1)[0].removeprefix("id: ")
            record = store.flows.deploy(
                "bench", flow_id, source=source, hash=hashlib.sha256(source.encode()).hexdigest(),
                path=None, commit=None, now=datetime.now(UTC),
            )  # fmt: skip
            profile = cProfile.Profile()
            start = time.perf_counter()
            profile.enable()
            execution_id = executor.create_execution(record, {})
            row = asyncio.run(executor.run_until_done(execution_id))
            profile.disable()
            elapsed = time.perf_counter() - start
            stats = pstats.Stats(profile)
            visit, seq = _stat(stats, "_visit"), _stat(stats, "_seq")
            print(
                f"{args.flow} n={n:>5}: "
                f"_visit {visit[0]:>8} calls {visit[1]:6.3f}s own {visit[2]:6.3f}s cum; "
                f"_seq {seq[0]:>6} calls {seq[1]:6.3f}s own {seq[2]:6.3f}s cum; "
                f"window {elapsed:6.2f}s (profiled) {row.state}"
            )
            store.close()


if __name__ == "__main__":
    main()
