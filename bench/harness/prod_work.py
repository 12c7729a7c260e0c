"""P1-P4 on a started ``System``: what is timed and how, the same code for every orchestrator.

- P1: ``n`` one-task runs submitted at once (16 client threads) -> the moment the last end is committed in
  the system's database (polled every 50 ms): runs/s = n / that time. The tree's RSS is polled meanwhile (P4).
- P2: ``n`` sequential submissions, each waited to its end: submit (client clock just before the API call)
  -> first task running (flowd: the attempt's start date; peers: a timestamp written inside the task).
- P3: one run of a 20-task chain of 100 ms sleeps, submit -> end committed; overhead per task =
  (window - 20 × 0.1 s) / 20.
- P4: the RSS of every process tree of the system at idle (after start-up and a settle) and its peak in P1.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness.prod_base import System
from harness.stats import percentile

Metrics = dict[str, float]
POLL = 0.05
CHAIN_TASKS, CHAIN_SLEEP = 20, 0.1
OK = {"SUCCESS", "WARNING", "COMPLETED", "success"}


def wait_ended(system: System, run_ids: list[str], timeout: float, poll: float = POLL) -> dict[str, str]:
    """Poll the system's database until every run of ``run_ids`` has ended; their states."""
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(states) < len(run_ids):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(run_ids) - len(states)} of {len(run_ids)} runs not ended in {timeout:.0f} s"
            )
        system.processes.check()
        states.update(system.ended([r for r in run_ids if r not in states]))
        if len(states) < len(run_ids):
            time.sleep(poll)
    failed = [f"{r}: {s}" for r, s in states.items() if s not in OK]
    if failed:
        raise RuntimeError(f"{len(failed)} runs did not succeed, e.g. {failed[:3]}")
    return states


class _RssPoller(threading.Thread):
    def __init__(self, system: System) -> None:
        super().__init__(daemon=True)
        self.system, self.peak, self.halt = system, 0.0, threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.peak = max(self.peak, self.system.processes.rss_mb())
            self.halt.wait(0.1)


def idle_rss(system: System, settle: float = 5.0) -> float:
    """P4 idle: the trees' RSS after ``settle`` seconds of nothing to do."""
    time.sleep(settle)
    return system.processes.rss_mb()


def p1_burst(system: System, n: int, timeout: float) -> Metrics:
    """P1 (+ P4 under load): ``n`` one-task runs submitted at once."""
    poller = _RssPoller(system)
    poller.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        run_ids = list(pool.map(lambda _: system.submit("one"), range(n)))
    submitted = time.perf_counter() - t0
    wait_ended(system, run_ids, timeout)
    elapsed = time.perf_counter() - t0
    poller.halt.set()
    poller.join()
    return {"runs_per_s": n / elapsed, "all_ended_s": elapsed, "submit_s": submitted, "peak_mb": poller.peak}


def p2_latency(system: System, n: int, timeout: float) -> Metrics:
    """P2: submit -> first task running, ``n`` sequential submissions."""
    latencies = []
    for _ in range(n):
        t0 = time.time()
        run_id = system.submit("one")
        wait_ended(system, [run_id], timeout, poll=0.01)
        latencies.append((system.first_task_started(run_id) - t0) * 1000)
    return {"first_task_median_ms": percentile(latencies, 50), "first_task_p99_ms": percentile(latencies, 99),
            "first_task_min_ms": min(latencies), "first_task_max_ms": max(latencies)}  # fmt: skip


def p3_chain(system: System, timeout: float) -> Metrics:
    """P3: a 20-task chain of 100 ms sleeps, submit -> end committed."""
    t0 = time.perf_counter()
    run_id = system.submit("chain")
    wait_ended(system, [run_id], timeout, poll=0.01)
    window = time.perf_counter() - t0
    return {
        "chain_s": window,
        "overhead_per_task_ms": (window - CHAIN_TASKS * CHAIN_SLEEP) / CHAIN_TASKS * 1000,
    }
