"""Cross-node kill benchmark: how long from a kill asked of one node to the execution ending KILLED on
the node that drives it, with the ``flowd_work`` notification of the kill (migration ``0007_nodes``) and
without it (the trigger dropped: the owner finds the kill at its next poll of the store, every 0.5 s).

Method
- A fresh database (``flowd_cbench_<hex>``, dropped at the end), two ``flowd run`` nodes A and B
  (``FLOWD_STORAGE=database``, from ``cluster_bench``), one flow of one ``sleep 600`` shell task.
- Each round: an execution submitted to B (so B drives it); once its task is RUNNING, the clock starts and
  ``DELETE /api/v1/executions/{id}/kill`` is sent to A; the clock stops when the store shows the execution
  KILLED (read every 5 ms). ``--rounds`` rounds with the notification, then as many without it.

Usage: ``python bench/cluster_kill_bench.py [--rounds 10]``. Figures are wall-clock on a shared machine:
the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_bench import Node, create_database, drop_database, query, wait_for

SLEEPER = """
id: sleeper
namespace: bench.cluster
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    commands: ["sleep 600"]
"""


def one_kill(url: str, a: Node, b: Node) -> float:
    """Seconds from the kill asked of A to KILLED in the store, for an execution B drives."""
    execution_id = httpx.post(b.url + "/api/v1/executions/bench.cluster/sleeper", timeout=30).json()["id"]
    wait_for(
        lambda: (
            query(url, "SELECT state FROM task_runs WHERE execution_id = %s", execution_id) == [("RUNNING",)]
        ),
        "the task to run on B",
    )
    start = time.perf_counter()
    answer = httpx.delete(a.url + f"/api/v1/executions/{execution_id}/kill", timeout=30)
    assert answer.status_code == 202, answer.text
    wait_for(
        lambda: query(url, "SELECT state FROM executions WHERE id = %s", execution_id) == [("KILLED",)],
        "KILLED",
        step=0.005,
    )
    return time.perf_counter() - start


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return (
        f"{name:<28} n={len(ms)}  median {statistics.median(ms):7.1f} ms  "
        f"min {ms[0]:7.1f} ms  max {ms[-1]:7.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    name, url = create_database()
    nodes: list[Node] = []
    try:
        with tempfile.TemporaryDirectory(prefix="flowd-kbench-") as tmp:
            root = Path(tmp)
            flows = root / "flows"
            flows.mkdir()
            (flows / "sleeper.yml").write_text(SLEEPER)
            nodes = [Node(root, i, url, flows, workers=4) for i in range(2)]
            for node in nodes:
                wait_for(node.healthy, "the nodes to answer")
            wait_for(lambda: query(url, "SELECT count(*) FROM flows")[0][0] == 1, "the flow deployed")
            a, b = nodes
            notified = [one_kill(url, a, b) for _ in range(args.rounds)]
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP TRIGGER flowd_work_killing ON executions")
            polled = [one_kill(url, a, b) for _ in range(args.rounds)]
            print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
            print(summary("kill, notified (0007)", notified))
            print(summary("kill, poll only", polled))
    finally:
        for node in nodes:
            node.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
