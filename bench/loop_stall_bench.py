"""How long can the daemon's main loop stall? A 1 ms ticker on it records its worst lateness while the
daemon syncs 10,000 flows and runs a burst of 1,000 executions.

    python bench/loop_stall_bench.py                     # 10,000 flows, 1,000 executions, SQLite
    python bench/loop_stall_bench.py --flows 2000 --executions 200 --db postgresql://postgres@127.0.0.1/x

Method (printed with the figures): the daemon (``Daemon.run``: main loop with the API, heartbeat and sync
loop; engine thread with the executor and scheduler) runs in this process on a thread of its own, with a
folder source of N generated flows (two Log tasks each, every tenth with a per-minute schedule) and a fresh
store. A ticker coroutine on the daemon's main loop sleeps 1 ms in a loop and records how late each wake-up
is. The sync starts at daemon start; once it has deployed the flows, M executions are submitted through
``Services.submit_execution`` from 8 client threads (as the HTTP API does), and the bench waits until all
have ended. The bench's own polling is one count query every 0.5 s (sync) and 0.2 s (burst), so its
thread adds little to the GIL's load. Reported: the worst and the 99th-percentile lateness over the whole
run, and the phase durations; first, the same ticker on an idle loop of this process for 3 s before the
daemon starts (nothing else running): the machine's own noise, the floor of what the daemon can reach;
and, during the whole run, the same ticker in a separate process (its own GIL): next to each of the
daemon's worst stalls, that probe's worst lateness at the same moment (a probe stall as long says the
machine stalled both; a short one says the stall was this process's).
Each of the worst stalls comes with the process's CPU time (all threads) over that sleep as a share of
its wall time: well under 100 % means the process mostly waited for a core (a loaded machine)
rather than running its own code (a collector pass or a thread holding the GIL shows ~100 % or more).
Target: worst < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from daemon.server.process import Daemon, DaemonOptions, build_services
from daemon.settings import Settings
from daemon.store.tables import flows as flows_table

FLOW = """id: f{i}
namespace: bench.stall
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: "hello {{{{ execution.id }}}}"
  - id: b
    type: io.kestra.plugin.core.log.Log
    message: done
"""
SCHEDULE = """triggers:
  - id: every_minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
"""


ACTIVE = ("CREATED", "QUEUED", "RUNNING", "KILLING", "PAUSED")

# the same 1 ms ticker in a process of its own (its own GIL) until its stdin closes; prints each wake-up
# later than 5 ms as "<monotonic end> <lateness>" (CLOCK_MONOTONIC is the machine's: comparable here)
PROBE = """
import asyncio, sys, threading, time
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
async def main():
    loop, late = asyncio.get_running_loop(), []
    while not done.is_set():
        due = loop.time() + 0.001
        await asyncio.sleep(0.001)
        lateness = loop.time() - due
        if lateness > 0.005:
            late.append((time.monotonic(), lateness))
    print("\\n".join(f"{at} {lateness}" for at, lateness in late))
asyncio.run(main())
"""


class Ticker:
    """Lateness of 1 ms sleeps on the loop it runs on."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.at: list[float] = []
        self.cpu: list[float] = []  # the process's CPU time over each sleep, as a share of its wall time
        self.stop = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stop:
            due = loop.time() + 0.001
            start, cpu = loop.time(), time.process_time()
            await asyncio.sleep(0.001)
            now = loop.time()
            self.samples.append(max(now - due, 0.0))
            self.at.append(time.monotonic())
            self.cpu.append((time.process_time() - cpu) / max(now - start, 1e-9))


class GcTimes:
    """Durations of the garbage collector's passes (they stop every thread)."""

    def __init__(self) -> None:
        self.longest: dict[int, float] = {}
        self.long: list[tuple[float, int, float]] = []  # (monotonic start, generation, seconds) over 10 ms
        self.since = float("inf")  # passes before the daemon starts (the bench's own set-up) are not counted
        self._start = self._at = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            self._at = time.monotonic()
        elif self._at >= self.since:
            gen, took = info["generation"], time.perf_counter() - self._start
            self.longest[gen] = max(self.longest.get(gen, 0.0), took)
            if took > 0.01:
                self.long.append((self._at, gen, took))


def idle_baseline(seconds: float = 3.0) -> list[float]:
    """The ticker alone on a fresh loop in a thread for ``seconds``: the lateness the machine causes."""
    ticker = Ticker()

    async def run() -> None:
        tick = asyncio.ensure_future(ticker.run())
        await asyncio.sleep(seconds)
        ticker.stop = True
        await tick

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    thread.join()
    return sorted(ticker.samples)


def deployed(engine: sa.Engine) -> int:
    """How many flows are deployed: one count query (the bench's polling stays light)."""
    query = sa.select(sa.func.count()).select_from(flows_table).where(flows_table.c.deleted.is_(False))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=1_000)
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    gc_times = GcTimes()
    gc.callbacks.append(gc_times)
    with tempfile.TemporaryDirectory(prefix="flowd-stall-") as tmp:
        root = Path(tmp)
        flows = root / "flows"
        flows.mkdir()
        for i in range(args.flows):
            (flows / f"f{i}.yml").write_text(FLOW.format(i=i) + (SCHEDULE if i % 10 == 0 else ""))
        db = args.db or f"sqlite:///{root / 'flowd.db'}"
        settings = Settings(home=root / "home")
        options = DaemonOptions(
            source=str(flows), interval=3600.0, listen="127.0.0.1:0", db_url=db, grace=5.0
        )
        services = build_services(settings, options)
        idle = idle_baseline()
        ticker = Ticker()
        holder: dict[str, object] = {}
        ready = threading.Event()

        async def daemon_main() -> int:
            daemon = Daemon(services, options)
            holder["daemon"], holder["loop"] = daemon, asyncio.get_running_loop()
            tick = asyncio.ensure_future(ticker.run())
            ready.set()
            try:
                return await daemon.run()
            finally:
                ticker.stop = True
                await tick

        thread = threading.Thread(target=lambda: asyncio.run(daemon_main()), daemon=True)
        probe = subprocess.Popen(
            [sys.executable, "-c", PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        started = gc_times.since = time.monotonic()
        thread.start()
        ready.wait(60)
        store = services.store
        while deployed(store.engine) < args.flows:
            time.sleep(0.5)
        synced = time.monotonic() - started
        burst_start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: services.submit_execution("bench.stall", f"f{i % args.flows}", {}),
                                range(args.executions)))  # fmt: skip
        submitted = time.monotonic() - burst_start
        while sum(n for state, n in store.executions.count_by_state().items() if state in ACTIVE) > 0:
            time.sleep(0.2)
        burst = time.monotonic() - burst_start
        loop: asyncio.AbstractEventLoop = holder["loop"]  # type: ignore[assignment]
        daemon: Daemon = holder["daemon"]  # type: ignore[assignment]
        loop.call_soon_threadsafe(daemon.request_stop)
        thread.join(120)
        probed = [tuple(map(float, line.split())) for line in probe.communicate("")[0].split("\n") if line]
    worst5 = sorted(zip(ticker.samples, ticker.at, ticker.cpu, strict=True), reverse=True)[:5]
    samples = sorted(ticker.samples)
    worst = samples[-1] * 1000
    p99 = samples[int(len(samples) * 0.99)] * 1000
    print("Method" + __doc__.split("Method", 1)[1].split("Target")[0].rstrip())
    print()
    print(f"store: {db.split(':')[0]}; flows: {args.flows}; executions: {len(ids)}")
    print(f"idle loop (3 s before the daemon starts): worst {idle[-1] * 1000:.1f} ms, "
          f"p99 {idle[int(len(idle) * 0.99)] * 1000:.2f} ms")  # fmt: skip
    print(f"sync of {args.flows} flows: {synced:.1f}s; burst: submitted in {submitted:.1f}s, "
          f"all ended after {burst:.1f}s")  # fmt: skip
    print(f"main loop lateness over {len(samples)} ticks: worst {worst:.1f} ms, p99 {p99:.2f} ms, "
          f"median {statistics.median(samples) * 1000:.2f} ms  (target: worst < 50 ms)")  # fmt: skip

    def beside(late: float, at: float) -> float:  # the probe's worst lateness overlapping that stall
        start = at - late - 0.001
        return max((pl for pa, pl in probed if pa >= start and pa - pl - 0.001 <= at), default=0.0)

    marks = ", ".join(
        f"{late * 1000:.0f} ms at {at - started:.1f}s "
        f"(process CPU {cpu:.0%}, probe {beside(late, at) * 1000:.0f} ms)"
        for late, at, cpu in worst5
    )
    probe_worst = max((pl for _, pl in probed), default=0.0)
    over = sum(pl > 0.02 for _, pl in probed)
    print(f"probe process over the same run (another process's loop: the machine's share): "
          f"worst {probe_worst * 1000:.1f} ms (0: none over 5), wake-ups over 20 ms: {over}")  # fmt: skip
    gcs = ", ".join(f"gen {g}: {t * 1000:.0f} ms" for g, t in sorted(gc_times.longest.items()))
    print(f"longest garbage collector pass (stops every thread): {gcs}")
    longs = ", ".join(f"gen {g} {t * 1000:.0f} ms at {at - started:.1f}s" for at, g, t in gc_times.long)
    print(f"collector passes over 10 ms: {longs or 'none'}")
    print(f"worst stalls (time since start; sync done at {synced:.1f}s): {marks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
