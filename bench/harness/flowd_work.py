"""flowd's side of workloads W1-W5: each repetition in a fresh store and fresh ``flowd`` processes.

Set-up (writing flows, ``flowd sync``) is untimed; the measured process is ``flowd execute --local --json``
(W1, W2, W3, W5) or ``flowd validate`` / ``flowd sync`` (W4). Timings inside an execution come from the
store's state histories as ``--json`` prints them.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import flowgen
from harness.measure import Measured, run_measured

Metrics = dict[str, float]


def flowd_argv() -> list[str]:
    """The ``flowd`` console script of this Python (what a user runs), or the module entry point."""
    script = Path(sys.executable).parent / "flowd"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from daemon.cli.main import main; main()"]


def flowd_env(home: Path) -> dict[str, str]:
    """The environment of a flowd process on the embedded store under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWD_")}
    env["FLOWD_HOME"] = str(home)
    return env


def epoch(text: str) -> float:
    """An ISO-8601 date of the API shape -> seconds since the epoch."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def state_date(state: dict[str, Any], name: str) -> float | None:
    """The date the histories first show ``name`` (None if never)."""
    for entry in state.get("histories") or []:
        if entry["state"] == name:
            return epoch(entry["date"])
    return None


def _fresh(work: Path, name: str) -> tuple[Path, Path]:
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    (root / "flows").mkdir(parents=True)
    return root / "flows", root / "home"


def _deploy(work: Path, name: str, yaml_text: str) -> Path:
    flows, home = _fresh(work, name)
    (flows / f"{name}.yml").write_text(yaml_text)
    run_measured([*flowd_argv(), "sync", "--source", str(flows)], env=flowd_env(home)).check()
    return home


def _execute(home: Path, ref: str) -> tuple[Measured, dict[str, Any]]:
    measured = run_measured([*flowd_argv(), "execute", ref, "--local", "--json"], env=flowd_env(home)).check()
    return measured, json.loads(measured.stdout)


def _run_span(shape: dict[str, Any]) -> float:
    state = shape["state"]
    start = state_date(state, "RUNNING") or epoch(state["startDate"])
    return epoch(state["endDate"]) - start


def _leaf_runs(shape: dict[str, Any]) -> list[tuple[float, float]]:
    """(start, end) of each task's last attempt, by start: the attempt dates are stamped around the plugin
    call, the analogue of the peers' timestamps written inside their tasks (the run's own histories share
    one clock reading per executor step, so the end of one run and the start of the next are equal)."""
    spans = []
    for run in shape["taskRunList"]:
        attempts = run.get("attempts") or []
        state = attempts[-1]["state"] if attempts else {}
        if state.get("startDate") and state.get("endDate"):
            spans.append((epoch(state["startDate"]), epoch(state["endDate"])))
    return sorted(spans)


def median_gap_ms(spans: list[tuple[float, float]]) -> float:
    """Median time from one task's end to the next one's start, in ms."""
    import statistics

    gaps = [(b[0] - a[1]) * 1000 for a, b in itertools.pairwise(spans)]
    return statistics.median(gaps) if gaps else 0.0


def w1_chain(work: Path, n: int) -> Metrics:
    """W1: ``n`` sequential no-op tasks."""
    measured, shape = _execute(_deploy(work, "chain", flowgen.chain(n)), "bench/chain")
    run_s = _run_span(shape)
    return {"per_task_ms": run_s / n * 1000, "gap_ms": median_gap_ms(_leaf_runs(shape)),
            "run_s": run_s, "wall_s": measured.wall_s, "peak_mb": measured.peak_mb}  # fmt: skip


def w2_fan(work: Path, n: int) -> Metrics:
    """W2: root, ``n`` parallel no-op tasks (concurrency 8), join."""
    measured, shape = _execute(_deploy(work, "fan", flowgen.fan(n)), "bench/fan")
    run_s = _run_span(shape)
    return {"per_task_ms": run_s / (n + 2) * 1000, "run_s": run_s, "wall_s": measured.wall_s,
            "peak_mb": measured.peak_mb}  # fmt: skip


def w3_cold(work: Path) -> Metrics:
    """W3: process start to the first task RUNNING, one-task flow on a pre-synced store."""
    measured, shape = _execute(_deploy(work, "one", flowgen.one()), "bench/one")
    first = min(start for start, _ in _leaf_runs(shape))
    return {"first_task_s": first - measured.started, "wall_s": measured.wall_s, "peak_mb": measured.peak_mb}


def w4_prepare(folder: Path, n: int) -> None:
    """Write the ``n`` distinct flow definitions of W4 (untimed)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"flow_{i}.yml").write_text(flowgen.many(i))


def w4_many(work: Path, folder: Path) -> Metrics:
    """W4: ``flowd validate`` of the folder, then ``flowd sync`` of it into an empty store."""
    _, home = _fresh(work, "many")
    env = flowd_env(home)
    validate = run_measured([*flowd_argv(), "validate", str(folder)], env=env).check()
    sync = run_measured([*flowd_argv(), "sync", "--source", str(folder)], env=env).check()
    return {"validate_s": validate.wall_s, "sync_s": sync.wall_s, "wall_s": validate.wall_s,
            "peak_mb": max(validate.peak_mb, sync.peak_mb)}  # fmt: skip


def w5_shell(work: Path, n: int) -> Metrics:
    """W5: ``n`` sequential ``echo`` shell tasks."""
    measured, shape = _execute(_deploy(work, "shell", flowgen.shell(n)), "bench/shell")
    run_s = _run_span(shape)
    return {"per_task_ms": run_s / n * 1000, "gap_ms": median_gap_ms(_leaf_runs(shape)), "run_s": run_s,
            "wall_s": measured.wall_s, "peak_mb": measured.peak_mb}  # fmt: skip


FLOOR_CODE = """
import subprocess, sys, time
n = int(sys.argv[1])
t0 = time.perf_counter()
for _ in range(n):
    subprocess.run(["/bin/sh", "-c", "echo hi"], check=True, capture_output=True)
print((time.perf_counter() - t0) / n * 1000)
"""


def w5_floor(n: int) -> Metrics:
    """The floor of W5: a bare loop of ``subprocess.run`` (the same ``/bin/sh -c 'echo hi'``)."""
    measured = run_measured([sys.executable, "-c", FLOOR_CODE, str(n)]).check()
    return {"per_task_ms": float(measured.stdout.strip()), "wall_s": measured.wall_s,
            "peak_mb": measured.peak_mb}  # fmt: skip
