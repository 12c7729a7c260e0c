"""The results file: one markdown table (median, min–max), paired ratios, targets, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

from harness.stats import paired_ratio, summarize
from harness.suite import FLOOR, FLOWD, Results, Sizes


@dataclass(frozen=True)
class Row:
    """One metric of one workload in the table."""

    workload: str
    key: str
    label: str
    unit: str
    digits: int = 1
    target: float | None = None  # flowd's target (an upper bound)


def rows(sizes: Sizes) -> list[Row]:
    """The table's rows, in order."""
    every = "minute" if not sizes.per_second_schedules else "second"
    return [
        Row(
            "w1",
            "per_task_ms",
            f"W1 inline chain of {sizes.chain} (Log/Return run in the executor's step; flowd only): per task",
            "ms",
            2,
            1.0,
        ),
        Row("w1", "warm_per_task_ms", "W1 inline, second run in the same process (warm): per task", "ms", 2),
        Row("w1", "gap_ms", "W1 inline: gap between consecutive tasks", "ms", 2),
        Row("w1", "peak_mb", "W1 inline: peak RSS of the process tree", "MB", 0),
        Row(
            "w1p",
            "per_task_ms",
            f"W1p chain of {sizes.chain} persisted no-op tasks (flowd: Sleep PT0S): per task",
            "ms",
            2,
        ),
        Row("w1p", "warm_per_task_ms", "W1p second run in the same process (warm; flowd only)", "ms", 2),
        Row("w1p", "gap_ms", "W1p gap between consecutive tasks", "ms", 2),
        Row("w1p", "wall_s", "W1p whole process (start, run, exit)", "s", 2),
        Row("w1p", "peak_mb", "W1p peak RSS of the process tree", "MB", 0),
        Row(
            "w2",
            "per_task_ms",
            f"W2 fan-out 1→{sizes.fan}→1 no-op tasks, concurrency 8 (see method: what each ran): per task",
            "ms",
            2,
            1.0,
        ),
        Row("w2", "warm_per_task_ms", "W2 second run in the same process (warm; flowd only)", "ms", 2),
        Row("w2", "run_s", "W2 run time", "s", 3),
        Row("w2", "peak_mb", "W2 peak RSS", "MB", 0),
        Row("w2s", "run_s", f"W2s {sizes.shell_fan} × shell `sleep 0.05`, concurrency 8: run time", "s", 2),
        Row("w2s", "warm_run_s", "W2s second run in the same process (warm; flowd only)", "s", 2),
        Row("w2s", "parallelism", "W2s tasks running side by side (sum of task times ÷ run time)", "", 1),
        Row("w2s", "peak_mb", "W2s peak RSS", "MB", 0),
        Row("w3", "first_task_s", "W3 cold start: process start → first task running", "s", 2, 0.5),
        Row("w3", "peak_mb", "W3 peak RSS", "MB", 0),
        Row(
            "w4",
            "wall_s",
            f"W4 {sizes.many} definitions: process loading them (flowd: validate)",
            "s",
            2,
            2.0,
        ),
        Row("w4", "sync_s", "W4 flowd sync of them into an empty store", "s", 2, 2.0),
        Row("w4", "load_s", "W4 in-process loading time (peers)", "s", 2),
        Row("w4", "peak_mb", "W4 peak RSS", "MB", 0),
        Row("w5", "per_task_ms", f"W5 {sizes.shell} shell `echo` tasks: per task", "ms", 2),
        Row("w5", "above_floor_ms", "W5 per task above the bare subprocess.run floor", "ms", 2, 5.0),
        Row("w5", "peak_mb", "W5 peak RSS", "MB", 0),
        Row("w6", "first_execution_s", "W6 push hook → first execution of the new flow", "s", 3, 1.0),
        Row("w6", "sync_call_s", "W6 POST /api/v1/sync answered", "s", 3),
        Row(
            "w7",
            "late_median_ms",
            f"W7 {sizes.schedules} flows every {every}: tick lateness median",
            "ms",
            1,
            50.0,
        ),
        Row("w7", "late_p99_ms", "W7 tick lateness p99", "ms", 1),
        Row("w7", "idle_cpu_pct", "W7 daemon CPU while idle between ticks", "% core", 2, 2.0),
        Row("w7", "peak_mb", "W7 daemon peak RSS", "MB", 0),
    ]


def add_floor_deltas(results: Results) -> None:
    """W5: each system's per-task time minus the floor of the same repetition."""
    w5 = results.data.get("w5", {})
    floors = [m["per_task_ms"] for m in w5.get(FLOOR, [])]
    if not floors:
        return
    for system, reps in w5.items():
        if system == FLOOR:
            continue
        for i, metrics in enumerate(reps):
            metrics["above_floor_ms"] = metrics["per_task_ms"] - floors[min(i, len(floors) - 1)]


def _cell(values: list[float], row: Row) -> str:
    return summarize(values).fmt(row.unit, row.digits) if values else "—"


def _target(row: Row, values: list[float]) -> str:
    if row.target is None:
        return ""
    text = f"≤ {row.target:g} {row.unit}"
    if not values:
        return text
    median = statistics.median(values)
    if median <= row.target:
        return f"{text} ✓"
    return f"{text} ✗ (+{median - row.target:.{row.digits}f}, ×{median / row.target:.1f})"


def table(results: Results, sizes: Sizes, peers: list[tuple[str, str]]) -> str:
    """The markdown table; ``peers`` are (name, label) of the peers measured."""
    head = ["Workload / metric", "flowd", *[label for _, label in peers]]
    if peers:
        head.append("flowd ÷ peer")
    head.append("flowd target")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows(sizes):
        by_system = results.data.get(row.workload, {})
        ours = [m[row.key] for m in by_system.get(FLOWD, []) if row.key in m]
        theirs = {name: [m[row.key] for m in by_system.get(name, []) if row.key in m] for name, _ in peers}
        if not ours and not any(theirs.values()):
            continue
        cells = [row.label, _cell(ours, row), *[_cell(theirs[name], row) for name, _ in peers]]
        if peers:
            ratios = []
            for name, label in peers:
                ratio = paired_ratio(ours, theirs[name]) if row.key != "above_floor_ms" else None
                if ratio is not None:
                    ratios.append(f"{label} {ratio:.3g}")
            cells.append(" · ".join(ratios))
        cells.append(_target(row, ours))
        lines.append("| " + " | ".join(cells) + " |")
    floor = [m["per_task_ms"] for m in results.data.get("w5", {}).get(FLOOR, [])]
    if floor:
        label = "W5 floor: bare `subprocess.run` of the same command"
        cell = summarize(floor).fmt("ms", 2)
        lines.append(f"| {label} | {cell} |" + " |" * (len(head) - 2))
    return "\n".join(lines)


def machine(versions: dict[str, str]) -> list[str]:
    """Facts about the machine and the software measured."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts = [
        f"- cores: {os.cpu_count()} ({cpu})",
        f"- memory: {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_version()} (flowd {versions.get('flowd', '?')})",
    ]
    facts += [f"- {name}: {version}" for name, version in versions.items() if name != "flowd"]
    return facts
