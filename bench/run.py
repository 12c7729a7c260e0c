"""Benchmarks of flowd, side by side with Prefect 3, Dagster and Apache Airflow 3 (``--peers``).

    python bench/run.py            # flowd: W1-W7, 5 repetitions
    python bench/run.py --peers    # + the peers (installed once in bench/.cache/venvs/<peer>), 3 repetitions
    python bench/run.py --quick    # CI: flowd only, tiny sizes, 1 repetition; exit 1 when a workload fails

Every repetition runs in fresh processes; the results go to bench/results/<date>.md (see bench/harness/).
"""

from __future__ import annotations

import argparse
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
process (flowd: `flowd execute --local --json` on a store synced beforehand, untimed; peers: their script in
their own virtual environment), and within a repetition the systems run back to back in an order that
rotates between repetitions. "flowd ÷ peer" is the median of the per-repetition ratios. Run time per task is
the flow run's duration (flowd: execution RUNNING → end, from the store; peers: the flow call, timed in-
process) divided by the number of tasks; the gap is the median time from one task's end to the next one's
start (flowd: the attempt dates in the store; peers: timestamps written from inside the tasks). Peak RSS is
the larger of the kernel's high-water mark of the largest process (`os.wait4` rusage, exact) and the polled
sum of the process tree's RSS (every 20 ms, adds up concurrent processes such as Prefect's server). Peers
run in their local in-process modes: Prefect 3 with its ephemeral local API server (thread pool of 8 for the
fan-out), Dagster `execute_in_process` (in-process executor: ops run one at a time), Airflow 3 `dag.test()`
(task instances one at a time; `max_active_tasks=8` has no effect there) on a SQLite metadata database
migrated once beforehand. W4 peers load Python files each defining one 3-task flow/job/DAG (Airflow:
`DagBag`; Dagster: import + `Definitions(...).get_repository_def().get_all_jobs()`; Prefect: import each
flow module); flowd validates 1,000 YAML flows (3 tasks, an input, a schedule) and syncs them into an empty
SQLite store."""


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
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="flowd-bench-"))
    results = run_suite(workloads=workloads, sizes=sizes, reps=reps, peers=peers, cache=args.cache, work=work)
    results.notes[:0] = notes
    report.add_floor_deltas(results)
    measured = [(p.name, p.label) for p in peers if p.name in {s for d in results.data.values() for s in d}]
    text = render(args, argv, results, sizes, reps, measured, versions, time.time() - started)
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


def _flowd_version() -> str:
    try:
        from daemon import __version__

        return str(__version__)
    except ImportError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
