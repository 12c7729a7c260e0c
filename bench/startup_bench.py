"""Benchmark: the CLI's cold start (W3) — how long a fresh ``flowd`` process takes before it does its job.

Method: a store under a temporary ``FLOWD_HOME`` gets the template flows (``flowd sync``, untimed); then each
command runs ``--runs`` times as a fresh subprocess (the ``flowd`` console script of this Python) and the
median (and min) wall-clock time is printed:

- ``python -c pass``                              the interpreter alone (the floor)
- ``flowd --help``                                the CLI entry module and click
- ``flowd validate hello_world.yml``              settings-free path: YAML, model, semantics, report
- ``flowd execute tutorial/hello_world --local``  store open, flow load, executor, two tasks, result print
- first task: process start -> the first task's first attempt start, read from the store's task run history
  (the attempt dates ``flowd execute --json`` prints; they are stamped around the plugin call).

CPU time (user + system of the child) is printed too: on a loaded machine it varies less than wall time.
Target (W3): first task <= 0.5 s.  ``--no-cache`` sets ``FLOWD_FLOW_CACHE=0`` (the parsed-flow cache off);
``--tree DIR`` runs the flowd package found in another checkout (e.g. ``git archive HEAD`` unpacked), for
before/after comparisons.

    python bench/startup_bench.py [--runs 5] [--no-cache] [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FLOWS = ROOT / "flows-repo-template" / "flows"
ONE_FILE = TEMPLATE_FLOWS / "tutorial" / "hello_world.yml"
FLOW_REF = "tutorial/hello_world"
TARGET_FIRST_TASK_S = 0.5


_TREE: Path | None = None


def flowd() -> list[str]:
    """The ``flowd`` console script next to this Python (what a user runs), or the module entry point
    (with ``--tree``: the console script would import the installed package, not the tree's)."""
    script = Path(sys.executable).parent / "flowd"
    if script.exists() and _TREE is None:
        return [str(script)]
    return [sys.executable, "-c", "from daemon.cli.main import main; main()"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(epoch start, wall seconds, CPU seconds, stdout) of one run; exits with the output on failure."""
    before = os.times()
    started = time.time()
    t0 = time.perf_counter()
    # run from FLOWD_HOME: ``python -c`` puts the working folder first on sys.path, before any --tree
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=env["FLOWD_HOME"])
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if done.returncode != 0:
        tail = f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{tail}")
    return started, wall, cpu, done.stdout


def epoch(text: str) -> float:
    """An ISO-8601 date of the API shape -> seconds since the epoch."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def first_task_start(shape: dict[str, object]) -> float:
    """The earliest attempt start among the execution's task runs (epoch seconds)."""
    starts = []
    for run in shape["taskRunList"]:  # type: ignore[attr-defined]
        for attempt in run.get("attempts") or []:
            date = attempt["state"].get("startDate")
            if date:
                starts.append(epoch(date))
    return min(starts)


def report(label: str, values: list[float], cpu: list[float] | None = None) -> None:
    """One line: median and min in ms (and the median CPU time)."""
    line = f"  {label:<48} median {statistics.median(values) * 1e3:5.0f} ms   min {min(values) * 1e3:5.0f} ms"
    if cpu:
        line += f"   cpu {statistics.median(cpu) * 1e3:5.0f} ms"
    print(line)


def main() -> None:
    """Sync, measure, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-cache", action="store_true", help="run with the parsed-flow cache switched off")
    parser.add_argument("--tree", type=Path, help="a checkout whose daemon package to run instead")
    args = parser.parse_args()
    global _TREE
    _TREE = args.tree
    home = Path(tempfile.mkdtemp(prefix="flowd-startup-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWD_")}
    env["FLOWD_HOME"] = str(home)
    if args.no_cache:
        env["FLOWD_FLOW_CACHE"] = "0"
    if args.tree:
        env["PYTHONPATH"] = str(args.tree.resolve())
    try:
        timed([*flowd(), "sync", "--source", str(TEMPLATE_FLOWS)], env)
        timed([*flowd(), "execute", FLOW_REF, "--local"], env)  # warm the OS page cache and .pyc files
        rows: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "flowd --help": [*flowd(), "--help"],
            f"flowd validate {ONE_FILE.name}": [*flowd(), "validate", str(ONE_FILE)],
            f"flowd execute {FLOW_REF} --local": [*flowd(), "execute", FLOW_REF, "--local", "--json"],
        }
        first: list[float] = []
        for _ in range(args.runs):
            for label, argv in commands.items():
                started, wall, cpu, out = timed(argv, env)
                rows.setdefault(label, []).append(wall)
                cpus.setdefault(label, []).append(cpu)
                if "execute" in argv:
                    first.append(first_task_start(json.loads(out)) - started)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    cache = "off" if args.no_cache else "on"
    tree = f", tree {args.tree}" if args.tree else ""
    print(f"flowd cold start, {args.runs} runs each, fresh processes, wall clock (flow cache {cache}{tree})")
    for label, values in rows.items():
        report(label, values, cpus[label])
    report("process start -> first task start (store)", first)
    verdict = "met" if statistics.median(first) <= TARGET_FIRST_TASK_S else "MISSED"
    print(f"  target first task <= {TARGET_FIRST_TASK_S} s: {verdict}")


if __name__ == "__main__":
    main()
