# ruff: noqa: E501  (tables of figures read better on one line)
"""Cluster benchmark: 1, 2 and 3 ``flowd run`` processes (each with its own FLOWD_HOME) on one fresh
PostgreSQL database, side by side in one run.

Method
- For each node count N: a fresh database (``flowd_cbench_<hex>`` on 127.0.0.1:5432, migrated before the
  daemons start, dropped at the end), N daemons with ``FLOWD_STORAGE=database`` and ``--workers W``
  (default 8), all following one flow folder. Timing starts once every node answers and the flows are
  deployed.
- (a) ``--noop`` executions of a one-task flow (``Return``), (b) ``--shell`` executions of a flow of three
  sequential 200 ms shell tasks (``sleep 0.2``, Process runner): submitted through the HTTP API
  (``POST /api/v1/executions/...``), round-robin over the nodes, from 16 client threads (``--clients``). An execution
  submitted to a node is driven by that node (the engine's claim path); the figures are executions and
  task runs ended per second, from the first submission to the last end (read from the store), and how
  the executions spread over the nodes (``owner_id``). (a) thus measures HTTP submission plus processing
  (a one-task execution ends inside its creating transaction); the rate of the submissions alone is
  printed with it. (b)'s default count (240) is a multiple of 8 slots x 1, 2 and 3 nodes, so every node
  count runs whole waves of executions (with 40, 3 nodes x 8 slots could not do better than 2.5x).
- (a') the cluster's processing rate without HTTP: ``--backlog`` one-task executions created unowned in
  one transaction, through the production function a trigger or a backfill uses
  (``Executor.create_execution(own=False, conn=..., rows=...)`` then ``store.executions.create_many``), as
  a scheduler leaves them; timed from that commit to the last end, as the nodes adopt and drain them (the
  way Airflow's scheduler benchmarks time a backlog of DAG runs).
- Leader fail-over (N >= 2): ``kill -9`` of the node holding the leader lock (read from ``pg_locks``);
  the time until another node acts as leader (its ``nodes.leader`` flag, set after its take-over delay).
- Worker death (N >= 2): an execution of one ``sleep 5`` task submitted to a node that is not the leader;
  once the task runs, ``kill -9`` of that node; the time until the task is RUNNING again on another node
  (the leader releases the dead node's executions, an executor adopts them and runs the interrupted task).

Usage: ``python bench/cluster_bench.py [--nodes 1,2,3] [--noop 400] [--backlog 5000] [--shell 240]
[--workers 8] [--parts http,backlog,shell,failover]``.
Targets (issue 14): (b) scales >= 2.5x from 1 to 3 nodes; fail-over <= 10 s; (a) >= 1,000 task runs/s
(met by the processing rate (a'); HTTP submission is printed apart and is lower: see docs/scaling.md).
The machine is shared: note the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.cluster.leader import LEADER_KEY
from daemon.store import Store

FLOWD = [sys.executable, "-c", "import sys; from daemon.cli.main import main; sys.exit(main())"]
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NOOP = "id: noop\nnamespace: bench.cluster\ntasks:\n  - {id: only, type: io.kestra.plugin.core.debug.Return, format: x}\n"
SHELL_TASK = (
    "  - id: s{i}\n    type: io.kestra.plugin.scripts.shell.Commands\n"
    "    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}\n    commands: ['sleep 0.2']\n"
)
SHELL3 = "id: shell3\nnamespace: bench.cluster\ntasks:\n" + "".join(SHELL_TASK.format(i=i) for i in range(3))
SLOW = SHELL3.replace("shell3", "slow").split("  - id: s1")[0].replace("sleep 0.2", "sleep 5")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise SystemExit(f"gave up waiting for {what}")


class Node:
    """One ``flowd run`` subprocess."""

    def __init__(self, root: Path, index: int, db_url: str, flows: Path, workers: int) -> None:
        self.home = root / f"node{index}"
        self.home.mkdir(parents=True)
        self.port = free_port()
        env = {
            **os.environ,
            "FLOWD_HOME": str(self.home),
            "FLOWD_DATABASE_URL": db_url,
            "FLOWD_STORAGE": "database",
        }
        argv = [*FLOWD, "run", "--source", str(flows), "--listen", f"127.0.0.1:{self.port}",
                "--interval", "10m", "--workers", str(workers)]  # fmt: skip
        self.log = (self.home / "daemon.log").open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise SystemExit(f"a node exited: see {self.home / 'daemon.log'}")
        try:
            return httpx.get(self.url + "/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()  # reaped: the others see the process gone

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def create_database() -> tuple[str, str]:
    name = f"flowd_cbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    Store.open(url).close()  # migrated before the daemons start
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def query(url: str, text: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(text, args or None).fetchall()  # type: ignore[arg-type]


CLIENTS = 16  # client threads submitting over HTTP (``--clients``)


def submit_all(nodes: list[Node], flow_id: str, count: int) -> list[str]:
    targets = itertools.cycle(nodes)
    urls = [next(targets).url + f"/api/v1/executions/bench.cluster/{flow_id}" for _ in range(count)]
    with httpx.Client(timeout=60) as client, concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(lambda u: client.post(u).json()["id"], urls))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat (every process: the nodes,
    PostgreSQL, the spawned tasks, the bench, and any other work on the machine)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def throughput(url: str, nodes: list[Node], flow_id: str, count: int, tasks: int) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    node_cpu = [cpu_seconds(n.proc.pid) for n in nodes]
    busy0, total0 = machine_ticks()
    ids = submit_all(nodes, flow_id, count)
    submitted = time.perf_counter() - start
    client_cpu = (time.process_time() - cpu) / submitted  # cores the bench's own HTTP client used meanwhile

    def ended() -> bool:
        rows = query(
            url, "SELECT count(*) FROM executions WHERE flow_id = %s AND end_date IS NOT NULL", flow_id
        )
        return rows[0][0] >= count

    wait_for(ended, f"{count} {flow_id} executions to end", timeout=1800, step=0.05)
    elapsed = time.perf_counter() - start
    # cores the nodes used, each (a daemon's Python threads share one GIL: at most ~1 core each)
    node_cores = [
        round((cpu_seconds(n.proc.pid) - c) / elapsed, 2) for n, c in zip(nodes, node_cpu, strict=True)
    ]
    busy1, total1 = machine_ticks()
    machine_busy = (busy1 - busy0) / max(total1 - total0, 1)  # share of all the machine's cores in use
    states = dict(
        query(url, "SELECT state, count(*) FROM executions WHERE flow_id = %s GROUP BY state", flow_id)
    )
    # executions stay owned by the node that drove them
    spread = sorted(
        n
        for (n,) in query(
            url, "SELECT count(*) FROM executions WHERE flow_id = %s GROUP BY owner_id", flow_id
        )
    )
    assert len(ids) == count
    return {"elapsed": elapsed, "submit_s": count / submitted, "client_cpu": client_cpu, "node_cores": node_cores, "machine_busy": machine_busy, "exec_s": count / elapsed, "runs_s": count * tasks / elapsed,
            "states": states, "spread": spread}  # fmt: skip


def create_backlog(url: str, flow_id: str, count: int, home: Path) -> float:
    """``count`` executions of ``flow_id`` created unowned in one transaction, through the production
    function a trigger or a backfill uses (``Executor.create_execution(own=False, conn, rows)`` then
    ``store.executions.create_many``); returns the commit's ``perf_counter()`` (the backlog's t0)."""
    from daemon.clock import SystemClock
    from daemon.engine.executor import Executor
    from daemon.settings import Settings
    from daemon.tasks.registry import PLUGINS

    with Store.open(url) as store:
        executor = Executor(store, Settings(home=home, database_url=url), SystemClock(), PLUGINS)
        record = store.flows.get("bench.cluster", flow_id)
        assert record is not None
        rows: list[Any] = []
        with store.begin() as conn:
            for _ in range(count):
                executor.create_execution(record, {}, own=False, conn=conn, rows=rows)
            store.executions.create_many(rows, conn=conn)
        return time.perf_counter()


def drain(url: str, flow_id: str, count: int, tasks: int, home: Path) -> dict[str, Any]:
    """Time the nodes draining a backlog of ``count`` unowned executions (no HTTP in the path)."""
    start = create_backlog(url, flow_id, count, home)

    def ended() -> bool:
        rows = query(
            url, "SELECT count(*) FROM executions WHERE flow_id = %s AND end_date IS NOT NULL", flow_id
        )
        return rows[0][0] >= count

    wait_for(ended, f"{count} {flow_id} backlog executions to end", timeout=1800, step=0.02)
    elapsed = time.perf_counter() - start
    states = dict(
        query(url, "SELECT state, count(*) FROM executions WHERE flow_id = %s GROUP BY state", flow_id)
    )
    spread = sorted(
        n
        for (n,) in query(
            url, "SELECT count(*) FROM executions WHERE flow_id = %s GROUP BY owner_id", flow_id
        )
    )
    return {"elapsed": elapsed, "exec_s": count / elapsed, "runs_s": count * tasks / elapsed, "states": states,
            "spread": spread}  # fmt: skip


def leader_node(url: str) -> str | None:
    rows = query(url, "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                      "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s "
                      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())", LEADER_KEY)  # fmt: skip
    return str(rows[0][0]).removeprefix("flowd-leader ") if rows else None


def node_pids(url: str) -> dict[str, int]:
    return {str(i): int(p) for i, p in query(url, "SELECT node_id, pid FROM nodes")}


def failover(url: str, nodes: list[Node]) -> float:
    leader = wait_for(lambda: leader_node(url), "a leader")
    pid = node_pids(url)[leader]
    victim = next(n for n in nodes if n.proc.pid == pid)
    killed = time.perf_counter()
    victim.kill()
    nodes.remove(victim)

    def acting() -> bool:
        rows = query(url, "SELECT node_id FROM nodes WHERE leader AND node_id <> %s", leader)
        return bool(rows) and leader_node(url) == rows[0][0]

    wait_for(acting, "another leader", timeout=120, step=0.02)
    return time.perf_counter() - killed


def worker_death(url: str, nodes: list[Node]) -> float:
    leader = wait_for(lambda: leader_node(url), "a leader")
    pids = node_pids(url)
    victim = next(n for n in nodes if pids.get(leader) != n.proc.pid)
    execution_id = httpx.post(victim.url + "/api/v1/executions/bench.cluster/slow", timeout=30).json()["id"]

    def running_on() -> str | None:
        rows = query(url, "SELECT state, claimed_by FROM task_runs WHERE execution_id = %s", execution_id)
        return rows[0][1] if rows and rows[0][0] == "RUNNING" else None

    first = wait_for(running_on, "the slow task to run")
    killed = time.perf_counter()
    victim.kill()
    nodes.remove(victim)
    wait_for(
        lambda: (r := running_on()) is not None and r != first,
        "the task to run again",
        timeout=300,
        step=0.02,
    )
    return time.perf_counter() - killed


def run_cluster(count: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    name, url = create_database()
    flows = root / f"flows{count}"
    flows.mkdir()
    (flows / "noop.yml").write_text(NOOP)
    (flows / "backlog.yml").write_text(NOOP.replace("id: noop", "id: backlog", 1))
    (flows / "shell3.yml").write_text(SHELL3)
    (flows / "slow.yml").write_text(SLOW)
    nodes = [Node(root / f"c{count}", i, url, flows, args.workers) for i in range(count)]
    result: dict[str, Any] = {"nodes": count}
    try:
        for node in nodes:
            wait_for(node.healthy, "a node to answer")
        wait_for(lambda: query(url, "SELECT count(*) FROM flows")[0][0] == 4, "the flows deployed")
        wait_for(lambda: len(node_pids(url)) == count, "every node registered")
        if "http" in args.parts:
            result["a"] = throughput(url, nodes, "noop", args.noop, 1)
        if "backlog" in args.parts:
            result["a_backlog"] = drain(url, "backlog", args.backlog, 1, root / f"bench-home{count}")
        if "shell" in args.parts:
            result["b"] = throughput(url, nodes, "shell3", args.shell, 3)
        if count >= 2 and "failover" in args.parts:
            result["failover"] = failover(url, nodes)
            # a replacement node joins (as a follower), so a worker and a survivor remain
            nodes.append(Node(root / f"c{count}", count, url, flows, args.workers))
            wait_for(nodes[-1].healthy, "the replacement node to answer")
            wait_for(lambda: len(node_pids(url)) >= 2, "the replacement node registered")
            result["worker_death"] = worker_death(url, nodes)
    finally:
        for node in nodes:
            node.stop()
        drop_database(name)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--noop", type=int, default=400, help="(a) one-task executions per node count")
    parser.add_argument(
        "--shell", type=int, default=240, help="(b) three-shell-task executions per node count"
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=5000,
        help="(a') one-task executions drained from the store per node count",
    )
    parser.add_argument(
        "--parts", default="http,backlog,shell,failover", help="what to measure (default: all)"
    )
    parser.add_argument("--workers", type=int, default=8, help="task slots per node")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="client threads submitting over HTTP")
    args = parser.parse_args(argv)
    globals()["CLIENTS"] = args.clients
    counts = [int(n) for n in args.nodes.split(",")]
    print(f"cluster bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; (a) {args.noop} one-task "
          f"executions over HTTP, (a') a backlog of {args.backlog}, (b) {args.shell} x three 200 ms shell tasks, --workers {args.workers}")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="flowd-cbench-") as tmp:
        for count in counts:
            results.append(run_cluster(count, args, Path(tmp)))
            r = results[-1]
            print(f"  {count} node(s): {summary(r)}; load average {os.getloadavg()[0]:.1f}", flush=True)
    print()
    print("| nodes | (a) HTTP-submitted exec/s = task runs/s | (a) spread | (a') backlog drained, task runs/s | (a') spread | (b) exec/s "
          "| (b) task runs/s | (b) vs 1 node | (b) spread | leader fail-over | worker death -> task running again |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base = results[0].get("b", {}).get("runs_s")
    for r in results:
        a, q, b = r.get("a"), r.get("a_backlog"), r.get("b")
        cells = [str(r["nodes"]), f"{a['runs_s']:.0f}" if a else "-", str(a["spread"]) if a else "-",
                 f"{q['runs_s']:.0f}" if q else "-", str(q["spread"]) if q else "-",
                 f"{b['exec_s']:.2f}" if b else "-", f"{b['runs_s']:.1f}" if b else "-",
                 f"{b['runs_s'] / base:.2f}x" if b and base else "-", str(b["spread"]) if b else "-",
                 f"{r['failover']:.1f} s" if r.get("failover") is not None else "-",
                 f"{r['worker_death']:.1f} s" if r.get("worker_death") is not None else "-"]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    bad = [
        (r["nodes"], k, r[k]["states"])
        for r in results
        for k in ("a", "a_backlog", "b")
        if k in r and set(r[k]["states"]) != {"SUCCESS"}
    ]
    if bad:
        print(f"not every execution succeeded: {bad}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def summary(r: dict[str, Any]) -> str:
    parts = []
    if "a" in r:
        parts.append(
            f"(a) HTTP-submitted {r['a']['runs_s']:.0f} task runs/s (submission alone {r['a']['submit_s']:.0f}/s, "
            f"the bench's HTTP client busy {r['a']['client_cpu']:.2f} core meanwhile, the nodes {r['a']['node_cores']} core each)"
        )
    if "a_backlog" in r:
        parts.append(f"(a') backlog drained {r['a_backlog']['runs_s']:.0f} task runs/s")
    if "b" in r:
        parts.append(f"(b) {r['b']['exec_s']:.2f} exec/s, {r['b']['runs_s']:.1f} task runs/s (nodes {r['b']['node_cores']} "
                     f"core each, the machine's cores {r['b']['machine_busy']:.0%} busy)")  # fmt: skip
    return "; ".join(parts)


if __name__ == "__main__":
    main()
