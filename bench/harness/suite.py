"""The workloads, their sizes, and the loop that alternates flowd and peer repetitions."""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import daemon_work, flowd_work, peer_work
from harness.peers import Peer

Metrics = dict[str, float]
FLOWD = "flowd"
FLOOR = "floor"


@dataclass(frozen=True)
class Sizes:
    """How big each workload is."""

    chain: int = 100
    fan: int = 200
    many: int = 1000
    shell: int = 100
    shell_fan: int = 200
    schedules: int = 1000
    per_second_schedules: bool = False


QUICK = Sizes(chain=10, fan=10, many=20, shell=5, shell_fan=16, schedules=10, per_second_schedules=True)
WORKLOADS = ("w1", "w1p", "w2", "w2s", "w3", "w4", "w5", "w6", "w7")


@dataclass
class Results:
    """Every repetition's metrics: ``data[workload][system]`` is a list, one entry per repetition."""

    data: dict[str, dict[str, list[Metrics]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, workload: str, system: str, metrics: Metrics) -> None:
        self.data.setdefault(workload, {}).setdefault(system, []).append(metrics)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _attempt(results: Results, workload: str, system: str, fn: Callable[[], Metrics]) -> bool:
    t0 = time.perf_counter()
    try:
        metrics = fn()
    except Exception as exc:  # a broken workload is reported, the others still run
        results.failed.append(f"{workload} {system}: {type(exc).__name__}: {exc}")
        say(f"  {workload} {system}: FAILED\n{traceback.format_exc(limit=3)}")
        return False
    results.add(workload, system, metrics)
    shown = ", ".join(f"{k}={v:.3g}" for k, v in metrics.items())
    say(f"  {workload} {system}: {shown} ({time.perf_counter() - t0:.1f}s)")
    return True


def run_suite(
    *, workloads: list[str], sizes: Sizes, reps: int, peers: list[Peer], cache: Path, work: Path
) -> Results:
    """Run ``workloads``; each repetition runs every system once, the order rotating between repetitions,
    so drift of a shared machine falls on all of them alike."""
    results = Results()
    broken: set[str] = set()
    for peer in peers:
        say(f"setting up {peer.label} (untimed)")
        try:
            peer_work.setup(peer, cache, work)
        except Exception as exc:
            results.notes.append(f"{peer.label} skipped: its set-up run failed: {exc}")
            broken.add(peer.name)
    live = [p for p in peers if p.name not in broken]
    if "w4" in workloads:
        flowd_work.w4_prepare(work / "w4-flowd", sizes.many)
        for peer in live:
            peer_work.w4_prepare(peer, cache, work / f"w4-{peer.name}", sizes.many)
    size = {"w1p": sizes.chain, "w2": sizes.fan, "w2s": sizes.shell_fan, "w3": 1, "w5": sizes.shell}
    for workload in workloads:
        say(f"== {workload}")
        for rep in range(reps if workload != "w7" else 1):
            systems: list[tuple[str, Callable[[], Metrics]]] = [(FLOWD, _flowd(workload, sizes, work))]
            if workload == "w5":
                systems.append((FLOOR, lambda: flowd_work.w5_floor(sizes.shell)))
            if workload in size or workload == "w4":
                systems += [(p.name, _peer(p, workload, size.get(workload, 0), cache, work)) for p in live]
            shift = rep % len(systems)
            for system, fn in systems[shift:] + systems[:shift]:
                _attempt(results, workload, system, fn)
    shutil.rmtree(work, ignore_errors=True)
    return results


def _flowd(workload: str, sizes: Sizes, work: Path) -> Callable[[], Metrics]:
    table: dict[str, Callable[[], Metrics]] = {
        "w1": lambda: flowd_work.w1_chain(work, sizes.chain),
        "w1p": lambda: flowd_work.w1p_chain(work, sizes.chain),
        "w2": lambda: flowd_work.w2_fan(work, sizes.fan),
        "w2s": lambda: flowd_work.w2s_fan(work, sizes.shell_fan),
        "w3": lambda: flowd_work.w3_cold(work),
        "w4": lambda: flowd_work.w4_many(work, work / "w4-flowd"),
        "w5": lambda: flowd_work.w5_shell(work, sizes.shell),
        "w6": lambda: daemon_work.w6_push(work),
        "w7": lambda: daemon_work.w7_many_schedules(
            work, sizes.schedules, per_second=sizes.per_second_schedules
        ),
    }
    return table[workload]


def _peer(peer: Peer, workload: str, n: int, cache: Path, work: Path) -> Callable[[], Metrics]:
    if workload == "w4":
        return lambda: peer_work.w4_load(peer, cache, work / f"w4-{peer.name}")
    return lambda: peer_work.run(peer, cache, work, workload, n)
