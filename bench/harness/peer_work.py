"""A peer's side of workloads W1-W5: its script in a fresh process of its own environment's Python."""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path

from harness.measure import Measured, run_measured
from harness.peers import Peer

Metrics = dict[str, float]
Stamp = tuple[str, float, float]


def _result(measured: Measured) -> dict[str, float]:
    for line in reversed(measured.stdout.splitlines()):
        if line.startswith("BENCH "):
            loaded: dict[str, float] = json.loads(line[6:])
            return loaded
    raise RuntimeError(f"no BENCH line in the output of {' '.join(measured.argv[:3])}")


def _stamps(ts_file: Path) -> list[Stamp]:
    rows = []
    if ts_file.exists():
        for line in ts_file.read_text().splitlines():
            name, start, end = line.split()
            rows.append((name, float(start), float(end)))
    return sorted(rows, key=lambda row: row[1])


def _run(
    peer: Peer, cache: Path, work: Path, workload: str, n: int
) -> tuple[Measured, dict[str, float], list[Stamp]]:
    ts_file = work / f"{peer.name}-{workload}.ts"
    ts_file.unlink(missing_ok=True)
    folder = work / f"{peer.name}-{workload}"
    env = peer.env(cache, ts_file)
    measured = run_measured(peer.argv(cache, workload, n=n, folder=folder), env=env).check()
    return measured, _result(measured), _stamps(ts_file)


def setup(peer: Peer, cache: Path, work: Path) -> None:
    """Untimed warm-up: creates the peer's home and metadata database."""
    peer.home(cache).mkdir(parents=True, exist_ok=True)
    _run(peer, cache, work, "setup", 1)


SCRIPT_WORKLOAD = {"w1p": "w1"}  # the peers' no-op tasks persist their states: W1p is their W1 chain


def run(peer: Peer, cache: Path, work: Path, workload: str, n: int) -> Metrics:
    """One repetition of ``workload`` (w1p, w2, w2s, w3, w5) with size ``n``."""
    workload = SCRIPT_WORKLOAD.get(workload, workload)
    measured, result, stamps = _run(peer, cache, work, workload, n)
    metrics = {"wall_s": measured.wall_s, "peak_mb": measured.peak_mb}
    if workload == "w3":
        metrics["first_task_s"] = stamps[0][1] - measured.started
        return metrics
    run_s = result["run_s"]
    metrics["run_s"] = run_s
    if workload == "w2s":
        metrics["parallelism"] = sum(end - start for _, start, end in stamps) / run_s
        return metrics
    metrics["per_task_ms"] = run_s / (n + 2 if workload == "w2" else n) * 1000
    if workload in ("w1", "w5"):
        gaps = [(b[1] - a[2]) * 1000 for a, b in itertools.pairwise(stamps)]
        if gaps:
            metrics["gap_ms"] = statistics.median(gaps)
    return metrics


def w4_prepare(peer: Peer, cache: Path, folder: Path, n: int) -> None:
    """Write the peer's ``n`` definitions (untimed)."""
    run_measured(
        peer.argv(cache, "w4-prepare", n=n, folder=folder), env=peer.env(cache, folder / "ts")
    ).check()


def w4_load(peer: Peer, cache: Path, folder: Path) -> Metrics:
    """One repetition of W4: a fresh process loading every definition of ``folder``."""
    measured = run_measured(peer.argv(cache, "w4", folder=folder), env=peer.env(cache, folder / "ts")).check()
    result = _result(measured)
    return {"wall_s": measured.wall_s, "load_s": result["load_s"], "loaded": result["loaded"],
            "peak_mb": measured.peak_mb}  # fmt: skip
