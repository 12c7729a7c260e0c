"""Benchmarks of flowd, side by side with Prefect 3, Dagster and Apache Airflow 3 (``--peers``).

    python bench/run.py            # flowd: W1-W7 (with W1p, W2s), 5 repetitions
    python bench/run.py --peers    # + the peers (installed once in bench/.cache/venvs/<peer>), 3 repetitions
    python bench/run.py --quick    # CI: flowd only, tiny sizes, 1 repetition; exit 1 when a workload fails

Every repetition runs in fresh processes; the results go to bench/results/<date>.md (see bench/harness/).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import report
from harness.peers import PEERS, Peer, ensure_installed, version
from harness.suite import QUICK, WORKLOADS, Sizes, run_suite, say

BENCH = Path(__file__).resolve().parent

METHOD = """\
Method. Each cell is the median (min–max) over the repetitions; each repetition of each system is a fresh
process, and within a repetition the systems run back to back in an order that rotates between repetitions.
"flowd ÷ peer" is the median of the per-repetition ratios.

One window for every system: a run's time is from the call that starts it to the moment its end is durable.
flowd: `bench/harness/flowd_driver.py`, a fresh process doing what `flowd execute --local` does on a store
synced beforehand (untimed), times `create_execution` → `run_until_done` → the ended execution read back
committed from the store; the first run of the process is the figure (it includes one-time costs such as the
flow's first parse, ~0.1–0.7 s, as the peers' first call includes theirs), and a second run in the same
process is shown as "warm" (what a long-lived daemon pays; not measured for the peers). Peers: the return of
their flow call, timed in-process (it includes their persistence). Per task = that window ÷ the tasks.

W1 (flowd only) is the inline chain: Log/Return run in the executor's step, and an all-inline chain is
written as one already-ended execution (no task state is durable while it runs); the peers have no such
tasks. W1p is the like-for-like chain: flowd `io.kestra.plugin.core.flow.Sleep` with `duration: PT0S`, a
no-op that is not inline: each run is claimed, runs as its own attempt on a worker slot, and its end is
committed (with the next run's claim) before the next attempt starts; the peers' no-op tasks, each of whose
state transitions they persist. The gap is the median time from one task's end to the next one's start
(flowd: the attempt dates in the store; peers: timestamps written from inside the tasks).

W2 "concurrency 8", what each system really did: flowd runs inline no-op tasks one after the other in its
loop's step (`concurrent: 8` only caps how many are started per step); Prefect submits them to a thread pool
of 8; Dagster `execute_in_process` runs ops one at a time; Airflow `dag.test()` runs task instances one at a
time (`max_active_tasks=8` has no effect there). W2s is a fan-out that does work, 200 × `sh -c 'sleep 0.05'`:
flowd a Parallel with `concurrent: 8` of shell tasks (process runner) on its 8 worker slots; Prefect the
thread pool of 8; Dagster and Airflow as in W2 (one at a time, plus a no-op root and join task), so their
parallelism is 1 by construction of their local modes. "Side by side" is the sum of the task bodies' times
(attempt dates / in-task timestamps) divided by the run's window.

Peak RSS is the larger of the kernel's high-water mark of the largest process (`os.wait4` rusage, exact) and
the polled sum of the process tree's RSS (every 20 ms, adds up concurrent processes such as Prefect's
server). Peers run in their local in-process modes: Prefect 3 with its ephemeral local API server, Dagster
`execute_in_process`, Airflow 3 `dag.test()` on a SQLite metadata database migrated once beforehand; flowd on
its embedded SQLite store. W3 is `flowd execute --local --json`: process start → first task running. W4
peers load Python files each defining one 3-task flow/job/DAG (Airflow: `DagBag`; Dagster: import +
`Definitions(...).get_repository_def().get_all_jobs()`; Prefect: import each flow module); flowd validates
1,000 YAML flows (3 tasks, an input, a schedule) and syncs them into an empty SQLite store. The production
setting (daemons on PostgreSQL, runs submitted through each system's API) is `bench/prod_bench.py`."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="flowd only, tiny sizes, 1 repetition (CI)")
    parser.add_argument(
        "--peers", action="store_true", help="also install and measure Prefect, Dagster, Airflow"
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5, 3 with --peers)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads (w1..w7)")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--cache", type=Path, default=BENCH / ".cache", help="peer environments and homes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, write the results file, return the exit status."""
    args = parse(argv)
    workloads = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        say(f"unknown workloads: {', '.join(unknown)}")
        return 2
    sizes = QUICK if args.quick else Sizes()
    reps = 1 if args.quick else (args.reps or (3 if args.peers else 5))
    notes: list[str] = []
    peers: list[Peer] = []
    versions = {"flowd": _flowd_version()}
    if args.peers and not args.quick:
        for peer in PEERS:
            say(f"preparing {peer.label} in {args.cache / 'venvs' / peer.name} (reused when present)")
            why = ensure_installed(peer, args.cache, args.cache / "logs" / f"{peer.name}-install.log")
            if why:
                notes.append(f"{peer.label} skipped: {why}")
                say(notes[-1])
                continue
            peers.append(peer)
            versions[peer.label] = version(peer, args.cache)
    started, load = time.time(), _load()
    work = Path(tempfile.mkdtemp(prefix="flowd-bench-"))
    results = run_suite(workloads=workloads, sizes=sizes, reps=reps, peers=peers, cache=args.cache, work=work)
    results.notes[:0] = notes
    report.add_floor_deltas(results)
    measured = [(p.name, p.label) for p in peers if p.name in {s for d in results.data.values() for s in d}]
    elapsed = time.time() - started
    text = render(
        args,
        argv,
        results,
        sizes,
        reps,
        measured,
        versions,
        elapsed,
        f"{load} at the start, {_load()} at the end",
    )
    args.results_dir.mkdir(parents=True, exist_ok=True)
    name = datetime.now().strftime("%Y-%m-%d") + ("-quick" if args.quick else "") + ".md"
    (args.results_dir / name).write_text(text)
    print(text)
    say(f"results written to {args.results_dir / name}")
    flowd_failed = [f for f in results.failed if f.split()[1] in ("flowd", "floor")]
    return 1 if flowd_failed else 0


def render(
    args: argparse.Namespace,
    argv: list[str] | None,
    results: object,
    sizes: Sizes,
    reps: int,
    peers: list[tuple[str, str]],
    versions: dict[str, str],
    elapsed: float,
    load: str = "",
) -> str:
    from harness.suite import Results

    assert isinstance(results, Results)
    command = "python bench/run.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    lines = [
        f"# flowd benchmarks, {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Command: `{command.strip()}` ({reps} repetition{'s' if reps > 1 else ''}, {elapsed / 60:.1f} min)",
        "",
        f"Load average (1 / 5 / 15 min; 2 cores shared with other work): {load}" if load else "",
        "",
        *report.machine(versions),
        "",
        report.table(results, sizes, peers),
        "",
    ]
    if results.failed or results.notes:
        lines += [
            "Notes:",
            *[f"- {n}" for n in results.notes],
            *[f"- FAILED {f}" for f in results.failed],
            "",
        ]
    lines += [METHOD, ""]
    return "\n".join(lines)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _flowd_version() -> str:
    try:
        from daemon import __version__

        return str(__version__)
    except ImportError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
