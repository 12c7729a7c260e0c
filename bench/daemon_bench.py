"""Daemon benchmark: schedule lateness with many scheduled flows, and the CPU an idle daemon uses.

Method
- Lateness: N flows (default 1,000) each with a per-second-resolution schedule firing once a minute,
  their seconds spread evenly (``S * * * * *`` with S = i mod 60, so about N/60 ticks every second), are
  deployed from a folder into a fresh SQLite store and run by a real ``flowd run`` subprocess. After a
  warm-up minute, every execution created during the measured window gives one sample: its creation time
  (``start_date``, written in the transaction that records the tick) minus its tick (``trigger.date``).
  Median, p95 and max are printed.
- Idle CPU: the same daemon with N flows whose schedules are far away (yearly) and nothing to run; the
  process's user+system CPU time (``/proc/PID/stat``) over the window divided by the wall time.
- Burst: N flows all due at the same instant (``*/E * * * * *``, every E seconds, default 10), the shape of
  W7 (``bench/run.py --only w7``: 1,000 per-minute schedules) without waiting minutes. Per tick: lateness of
  the execution's creation (``start_date``) and of its start (the RUNNING entry of its state history), so
  the share of creating versus starting the executions shows; plus the CPU between the bursts.

Usage: ``python bench/daemon_bench.py [--flows 1000] [--seconds 60] [--only idle,lateness,burst]``.
Targets: median lateness < 50 ms; idle CPU < 2 % of a core.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from daemon.store import Store

FLOWD = [sys.executable, "-c", "import sys; from daemon.cli.main import main; sys.exit(main())"]
FLOW = """id: f{i}
namespace: bench.sched
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: tick
triggers:
  - id: cron
    type: io.kestra.plugin.core.trigger.Schedule
    withSeconds: true
    cron: "{cron}"
    recoverMissedSchedules: NONE
"""


def start(root: Path, flows: int, cron: str) -> tuple[subprocess.Popen[bytes], str]:
    folder = root / "flows"
    folder.mkdir()
    for i in range(flows):
        (folder / f"f{i}.yml").write_text(FLOW.format(i=i, cron=cron.format(s=i % 60)))
    home = root / "home"
    home.mkdir()
    db = f"sqlite:///{home / 'flowd.db'}"
    env = {**os.environ, "FLOWD_HOME": str(home), "FLOWD_DATABASE_URL": db}
    port = 18000 + os.getpid() % 1000
    argv = [*FLOWD, "run", "--source", str(folder), "--listen", f"127.0.0.1:{port}", "--interval", "10m"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=(root / "daemon.log").open("wb"))
    deadline = time.monotonic() + 600
    with Store.open(db) as store:
        while time.monotonic() < deadline:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                up = False
            states = store.triggers.list() if up else []
            if len(states) == flows and all(s.next_date is not None for s in states):
                return proc, db
            time.sleep(1)
    raise SystemExit("the daemon did not deploy the flows in time; see " + str(root / "daemon.log"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lateness(flows: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, db = start(Path(tmp), flows, "{s} * * * * *")
        try:
            time.sleep(60)  # warm-up: first ticks, parsed-flow caches
            begin = time.time()
            time.sleep(seconds)
            end = time.time()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
        with Store.open(db) as store:
            rows = store.executions.list(namespace="bench.sched", limit=1_000_000)
        samples = []
        for row in rows:
            tick = datetime.fromisoformat(row.trigger["variables"]["date"].replace("Z", "+00:00"))  # type: ignore[index]
            if begin <= tick.timestamp() < end:
                samples.append((row.start_date - tick).total_seconds() * 1000)
        samples.sort()
        if not samples:
            raise SystemExit("no execution in the measured window")
        p95 = samples[int(len(samples) * 0.95) - 1]
        median = statistics.median(samples)
        print(f"lateness over {len(samples)} ticks of {flows} flows in {seconds:.0f} s: "
              f"median {median:.1f} ms, p95 {p95:.1f} ms, max {samples[-1]:.1f} ms")  # fmt: skip


def idle_cpu(flows: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, _ = start(Path(tmp), flows, "0 0 0 1 1 *")  # yearly: nothing due in the window
        try:
            time.sleep(15)  # settle after start-up
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            used = cpu_seconds(proc.pid) - cpu0
            wall = time.monotonic() - wall0
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
    print(f"idle daemon with {flows} flows: {100 * used / wall:.2f} % of a core over {wall:.0f} s")


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p99 = values[max(int(len(values) * 0.99) - 1, 0)]
    return f"median {statistics.median(values):.1f} ms, p99 {p99:.1f} ms, max {values[-1]:.1f} ms"


def burst(flows: int, every: int, ticks: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, db = start(Path(tmp), flows, f"*/{every} * * * * *")
        try:
            # skip the first burst (it may come before the plans are ready), then measure ``ticks`` bursts
            first = (int(time.time() / every) + 2) * every
            time.sleep(max(first - time.time(), 0))
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(ticks * every - 0.5)
            used, wall = cpu_seconds(proc.pid) - cpu0, time.monotonic() - wall0
            time.sleep(every)  # the last burst's executions end
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
        with Store.open(db) as store:
            rows = store.executions.list(namespace="bench.sched", limit=1_000_000)
        created: dict[float, list[float]] = {}
        started: dict[float, list[float]] = {}
        for row in rows:
            tick = datetime.fromisoformat(row.trigger["variables"]["date"].replace("Z", "+00:00"))  # type: ignore[index]
            if not first <= tick.timestamp() < first + ticks * every:
                continue
            created.setdefault(tick.timestamp(), []).append((row.start_date - tick).total_seconds() * 1000)
            running = next((h["date"] for h in row.histories if h["state"] == "RUNNING"), None)
            if running is not None:
                at = datetime.fromisoformat(running.replace("Z", "+00:00"))
                started.setdefault(tick.timestamp(), []).append((at - tick).total_seconds() * 1000)
        if not created:
            raise SystemExit("no execution in the measured window")
        print(f"burst: {flows} flows due together every {every} s, {len(created)} bursts")
        for tick in sorted(created):
            print(f"  tick {datetime.fromtimestamp(tick):%H:%M:%S}: {len(created[tick])} created: "
                  f"{_ms(created[tick])}; started (RUNNING): {_ms(started.get(tick, [0.0]))}")  # fmt: skip
        every_created = [v for values in created.values() for v in values]
        every_started = [v for values in started.values() for v in values]
        share = statistics.median(every_created) / max(statistics.median(every_started), 1e-9)
        print(f"  all: created {_ms(every_created)}; started {_ms(every_started)}; creation is "
              f"{100 * share:.0f} % of the median start lateness")  # fmt: skip
        print(f"  CPU over the bursts: {100 * used / wall:.1f} % of a core")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--every", type=int, default=10, help="burst period in seconds (divides 60)")
    parser.add_argument("--ticks", type=int, default=4, help="bursts measured")
    parser.add_argument("--only", default="idle,lateness,burst")
    args = parser.parse_args()
    parts = {part.strip() for part in args.only.split(",")}
    print(__doc__.split("Usage:")[0].strip(), "\n")
    if "idle" in parts:
        idle_cpu(args.flows, args.seconds)
    if "lateness" in parts:
        lateness(args.flows, args.seconds)
    if "burst" in parts:
        burst(args.flows, args.every, args.ticks)


if __name__ == "__main__":
    main()
