"""flowd's side of workloads W1-W5: each repetition in a fresh store and fresh processes.

Set-up (writing flows, ``flowd sync``) is untimed. The run workloads (W1, W1p, W2, W2s, W5) are timed by the
in-process driver ``flowd_driver.py`` (a fresh process doing what ``flowd execute --local`` does): the run's
window is create call -> ended execution committed and read back, the window the peers' flow call has. W3
times ``flowd execute --local --json`` (process start to first task); W4 ``flowd validate`` / ``flowd sync``.
Task start/end dates (the gaps) come from the store's attempt dates.
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


DRIVER = Path(__file__).resolve().parent / "flowd_driver.py"


def _drive(home: Path, ref: str) -> tuple[Measured, float, dict[str, Any]]:
    """One process of the driver: (the process, the first run's create -> committed-end window, the first
    execution); ``shape["warm_s"]`` is the same window of the second run in that process."""
    measured = run_measured([sys.executable, str(DRIVER), ref], env=flowd_env(home)).check()
    line = next(x for x in reversed(measured.stdout.splitlines()) if x.startswith("BENCH "))
    result = json.loads(line[6:])
    shape: dict[str, Any] = result["shape"]
    shape["warm_s"] = float(result["warm_s"])
    return measured, float(result["window_s"]), shape


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


def _chain(work: Path, name: str, yaml_text: str, n: int) -> Metrics:
    measured, run_s, shape = _drive(_deploy(work, name, yaml_text), f"bench/{name}")
    return {"per_task_ms": run_s / n * 1000, "warm_per_task_ms": shape["warm_s"] / n * 1000,
            "gap_ms": median_gap_ms(_leaf_runs(shape)), "run_s": run_s, "wall_s": measured.wall_s,
            "peak_mb": measured.peak_mb}  # fmt: skip


def w1_chain(work: Path, n: int) -> Metrics:
    """W1: ``n`` sequential inline no-op tasks (Return: run in the executor's step, written with the end)."""
    return _chain(work, "chain", flowgen.chain(n), n)


def w1p_chain(work: Path, n: int) -> Metrics:
    """W1p: ``n`` sequential ``Sleep PT0S`` tasks: claimed, run as attempts, each end committed first."""
    return _chain(work, "sleeps", flowgen.sleep_chain(n), n)


def w2_fan(work: Path, n: int) -> Metrics:
    """W2: root, ``n`` inline no-op tasks in a Parallel (concurrent: 8), join. Inline tasks run one after
    the other in the executor's step: ``concurrent`` only caps how many are started per step."""
    measured, run_s, shape = _drive(_deploy(work, "fan", flowgen.fan(n)), "bench/fan")
    return {"per_task_ms": run_s / (n + 2) * 1000, "warm_per_task_ms": shape["warm_s"] / (n + 2) * 1000,
            "run_s": run_s, "wall_s": measured.wall_s, "peak_mb": measured.peak_mb}  # fmt: skip


def w2s_fan(work: Path, n: int) -> Metrics:
    """W2s: ``n`` shell ``sleep 0.05`` tasks in a Parallel (concurrent: 8) on 8 worker slots."""
    measured, run_s, shape = _drive(_deploy(work, "shellfan", flowgen.shell_fan(n)), "bench/shellfan")
    side_by_side = _parallelism(_leaf_runs(shape), run_s)
    return {"run_s": run_s, "warm_run_s": shape["warm_s"], "parallelism": side_by_side,
            "wall_s": measured.wall_s, "peak_mb": measured.peak_mb}  # fmt: skip


def _parallelism(spans: list[tuple[float, float]], run_s: float) -> float:
    """Sum of the tasks' run times over the run's window: how many ran side by side on average."""
    return sum(end - start for start, end in spans) / run_s if run_s > 0 else 0.0


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
    measured, run_s, shape = _drive(_deploy(work, "shell", flowgen.shell(n)), "bench/shell")
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
