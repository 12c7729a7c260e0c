"""``kill -9`` the daemon at random moments, many times in a row, under a mixed load, and count what broke.

    python bench/kill9_soak.py                 # 20 kills, SQLite
    python bench/kill9_soak.py --kills 5 --db postgresql://postgres@127.0.0.1:5432/somedb

Load: ``tick`` fires every second (Schedule, withSeconds) and runs a Log task, a shell task that sleeps
0.3 s and a Subflow task calling ``child`` (a shell task and a Log); ``down`` is started by a Flow trigger
on every successful ``tick``. Each round starts ``flowd run`` (a subprocess) on a folder source, waits a
random 1–4 s, and kills it with SIGKILL. After the last kill a final daemon runs until every execution that
began more than 15 s earlier has ended, then stops with SIGTERM. Counted, from the store:

- lost executions: scheduled seconds missing between the first and the last tick (the schedule recovers
  missed ticks), ticks recorded without an execution, ``tick`` executions whose Subflow task ended without
  a child execution, successful ``tick`` executions with no ``down`` execution;
- duplicated schedule ticks: ``tick`` executions sharing one scheduled date;
- duplicated downstream executions: ``down`` executions sharing one upstream execution id, and children
  sharing one parent task run;
- stuck after restart: executions not ended (CREATED/QUEUED/RUNNING/KILLING) when the final daemon stops
  waiting.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.store import Store  # noqa: E402

FLOWD = [sys.executable, "-c", "import sys; from daemon.cli.main import main; sys.exit(main())"]
NS = "soak"
FLOWS = {
    "tick.yml": f"""
id: tick
namespace: {NS}
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "tick {{{{ trigger.date }}}}"
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 0.3
  - id: sub
    type: io.kestra.plugin.core.flow.Subflow
    namespace: {NS}
    flowId: child
triggers:
  - id: every-second
    type: io.kestra.plugin.core.trigger.Schedule
    withSeconds: true
    cron: "* * * * * *"
""",
    "child.yml": f"""
id: child
namespace: {NS}
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 0.2
  - id: bye
    type: io.kestra.plugin.core.log.Log
    message: child done
""",
    "down.yml": f"""
id: down
namespace: {NS}
tasks:
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "after {{{{ trigger.executionId }}}}"
triggers:
  - id: on-tick
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: {NS}
        flowId: tick
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
""",
}
ACTIVE = {"CREATED", "QUEUED", "RUNNING", "KILLING", "PAUSED"}


@dataclass
class Counts:
    lost: int
    duplicated_ticks: int
    duplicated_downstream: int
    stuck: int
    executions: int
    details: dict[str, int]

    def render(self) -> str:
        detail = ", ".join(f"{k} {v}" for k, v in self.details.items())
        return (
            f"lost executions: {self.lost}\nduplicated schedule ticks: {self.duplicated_ticks}\n"
            f"duplicated downstream executions: {self.duplicated_downstream}\n"
            f"stuck RUNNING after restart: {self.stuck}\n(executions: {self.executions}; {detail})"
        )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(flows: Path, home: Path, db: str, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {**os.environ, "FLOWD_HOME": str(home), "FLOWD_DATABASE_URL": db, "PYTHONPATH": str(ROOT)}
    argv = [*FLOWD, "run", "--source", str(flows), "--listen", f"127.0.0.1:{port}", "--interval", "1h",
            "--grace-period", "5s"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the daemon did not answer; see {log}")


def count(store: Store, *, stuck: list[str], cutoff: datetime) -> Counts:
    """The counts; ``stuck``: executions still not ended long after the final start; only executions
    that ended before ``cutoff`` are checked for their child and downstream executions."""
    rows = store.executions.list(namespace=NS, limit=1_000_000)
    by_flow: dict[str, list] = {"tick": [], "down": [], "child": []}
    for row in rows:
        by_flow.setdefault(row.flow_id, []).append(row)
    dates = [(r.trigger or {}).get("variables", {}).get("date") for r in by_flow["tick"]]
    seconds = sorted({datetime.fromisoformat(d.replace("Z", "+00:00")) for d in dates if d})
    missing_seconds = 0
    if seconds:
        missing_seconds = int((seconds[-1] - seconds[0]).total_seconds()) + 1 - len(seconds)
    duplicated_ticks = sum(n - 1 for n in Counter(dates).values() if n > 1)
    upstream = Counter((r.trigger or {}).get("variables", {}).get("executionId") for r in by_flow["down"])
    duplicated_down = sum(n - 1 for n in upstream.values() if n > 1)
    parents = Counter((r.parent_execution_id, r.parent_task_run_id) for r in by_flow["child"])
    duplicated_children = sum(n - 1 for n in parents.values() if n > 1)
    settled = [r for r in by_flow["tick"] if r.state == "SUCCESS" and r.end_date and r.end_date < cutoff]
    no_down = [r.id for r in settled if r.id not in upstream]
    children_of = {p for p, _ in parents}
    no_child = [r.id for r in settled if r.id not in children_of]
    known = {r.id for r in rows}
    tick_rows = _tick_rows(store)
    tick_without_execution = sum(1 for eid in tick_rows if eid is None or eid not in known)
    details = {
        "missing scheduled seconds": missing_seconds, "ticks without execution": tick_without_execution,
        "SUCCESS ticks without child": len(no_child), "SUCCESS ticks without downstream": len(no_down),
        "duplicated children": duplicated_children,
        "tick states": 0,
    }  # fmt: skip
    details.pop("tick states")
    for state, n in sorted(Counter(r.state for r in by_flow["tick"]).items()):
        details[f"tick {state}"] = n
    return Counts(
        lost=missing_seconds + tick_without_execution + len(no_child) + len(no_down),
        duplicated_ticks=duplicated_ticks,
        duplicated_downstream=duplicated_down + duplicated_children,
        stuck=len(stuck),
        executions=len(rows),
        details=details,
    )


def _tick_rows(store: Store) -> list[str | None]:
    import sqlalchemy as sa

    from daemon.store.tables import schedule_ticks

    with store.engine.connect() as conn:
        query = sa.select(schedule_ticks.c.execution_id).where(schedule_ticks.c.namespace == NS)
        return [row[0] for row in conn.execute(query)]


def soak(*, kills: int, db: str | None, seed: int, workdir: Path, say: bool = True) -> Counts:
    """Run the soak; returns the counts (see the module docstring)."""
    rng = random.Random(seed)
    flows, home, log = workdir / "flows", workdir / "home", workdir / "daemon.log"
    flows.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    for name, text in FLOWS.items():
        (flows / name).write_text(text)
    db = db or f"sqlite:///{workdir / 'flowd.db'}"
    for round_ in range(1, kills + 1):
        proc = start(flows, home, db, log)
        wait = rng.uniform(1.0, 4.0)
        time.sleep(wait)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if say:
            print(f"kill {round_}/{kills} after {wait:.1f}s", flush=True)
    proc = start(flows, home, db, log)
    store = Store.open(db)
    try:
        deadline = time.monotonic() + 120
        stuck: list[str] = []
        while time.monotonic() < deadline:
            time.sleep(1.0)
            active = [r for r in store.executions.list(namespace=NS, limit=1_000_000) if r.state in ACTIVE]
            now = datetime.now().astimezone()
            stuck = [r.id for r in active if (now - r.start_date).total_seconds() > 15]
            if not stuck:
                break
        time.sleep(5.0)  # what ended just now has its downstream and children created
        cutoff = now
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        return count(store, stuck=stuck, cutoff=cutoff)
    finally:
        store.close()
        if proc.poll() is None:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flowd-kill9-") as tmp:
        counts = soak(kills=args.kills, db=args.db, seed=args.seed, workdir=Path(tmp))
    print(f"\nkill -9 soak: {args.kills} kills at random moments (1-4 s apart), seed {args.seed}, "
          f"store {(args.db or 'sqlite').split(':')[0]}")  # fmt: skip
    print(counts.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
