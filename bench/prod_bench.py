"""The production setting: flowd and its peers as daemons on PostgreSQL, runs submitted through their APIs.

    python bench/prod_bench.py                         # flowd + Prefect + Airflow + Dagster, full sizes
    python bench/prod_bench.py --systems flowd         # one system
    python bench/prod_bench.py --burst 50 --latency 20 # smaller P1 / P2 (say so when you quote them)
    python bench/prod_bench.py --quick                 # CI: flowd only, tiny sizes

Each system gets a database created on 127.0.0.1:5432 for the run and dropped after it; its servers are
started (untimed) and stopped at the end. P1-P4 are described in bench/harness/prod_work.py; results go to
bench/results/<date>-prod.md. Peers run from their environments in bench/.cache/venvs/<peer> (bench/run.py
--peers installs them).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import prod_work, report
from harness.daemon_work import free_port
from harness.prod_base import System
from harness.stats import paired_ratio, summarize
from harness.suite import say

BENCH = Path(__file__).resolve().parent
SYSTEMS = ("flowd", "prefect", "airflow", "dagster")

ROWS = (  # (metric, label, unit, digits)
    ("runs_per_s", "P1 {burst} one-task runs submitted at once: runs/s until all ended", "runs/s", 1),
    ("all_ended_s", "P1 submit → all {burst} ended and committed", "s", 2),
    ("first_task_median_ms", "P2 submit → first task running, median of {latency}", "ms", 0),
    ("first_task_p99_ms", "P2 submit → first task running, p99 of {latency}", "ms", 0),
    ("chain_s", "P3 20 × 100 ms sleep chain: submit → end committed", "s", 2),
    ("overhead_per_task_ms", "P3 scheduler overhead per task ((window − 2 s) ÷ 20)", "ms", 0),
    ("idle_mb", "P4 RSS of the whole process tree at idle", "MB", 0),
    ("peak_mb", "P4 peak RSS of the whole process tree during P1", "MB", 0),
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: " + ", ".join(SYSTEMS))
    parser.add_argument("--burst", type=int, default=500, help="P1: runs submitted at once")
    parser.add_argument("--latency", type=int, default=100, help="P2: sequential submissions")
    parser.add_argument("--reps", type=int, default=1, help="repetitions, each on fresh servers and database")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a workload may take")
    parser.add_argument("--quick", action="store_true", help="flowd only, tiny sizes (CI)")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--cache", type=Path, default=BENCH / ".cache", help="the peers' environments")
    return parser.parse_args(argv)


def make(name: str, work: Path, cache: Path) -> System:
    """The adapter of system ``name``."""
    port = free_port()
    if name == "flowd":
        from harness.prod_flowd import Flowd

        return Flowd(work, port)
    if name == "prefect":
        from harness.prod_prefect import Prefect

        return Prefect(work, port, cache)
    if name == "airflow":
        from harness.prod_airflow import Airflow

        return Airflow(work, port, cache)
    if name == "dagster":
        from harness.prod_dagster import Dagster

        return Dagster(work, port, cache)
    raise ValueError(f"unknown system {name}")


def run_system(name: str, args: argparse.Namespace, work: Path) -> tuple[dict[str, float], tuple[str, ...]]:
    """One repetition of P1-P4 on fresh servers and a fresh database."""
    system = make(name, work, args.cache)
    metrics: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        system.start()
        say(f"  {name}: up in {time.perf_counter() - t0:.1f} s")
        metrics["idle_mb"] = prod_work.idle_rss(system)
        steps: list[tuple[str, Callable[[], dict[str, float]]]] = [
            ("P3", lambda: prod_work.p3_chain(system, args.timeout)),
            ("P2", lambda: prod_work.p2_latency(system, args.latency, args.timeout)),
            ("P1", lambda: prod_work.p1_burst(system, args.burst, args.timeout)),
        ]
        for step, fn in steps:
            t0 = time.perf_counter()
            got = fn()
            metrics.update(got)
            shown = ", ".join(f"{k}={v:.4g}" for k, v in got.items())
            say(f"  {name} {step}: {shown} ({time.perf_counter() - t0:.1f} s)")
        return metrics, (
            *system.settings,
            f"database `{system.db.name}` (created for the run, dropped after)",
        )
    finally:
        system.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the production benchmarks, write the results file; exit 1 when flowd failed."""
    args = parse(argv)
    if args.quick:
        args.systems, args.burst, args.latency = "flowd", 10, 5
    names = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SYSTEMS))
    if unknown:
        say(f"unknown systems: {', '.join(unknown)}")
        return 2
    started, load = time.time(), _load()
    data: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    settings: dict[str, tuple[str, ...]] = {}
    failures: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="flowd-prod-"))
    for rep in range(args.reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            say(f"== {name} (repetition {rep + 1})")
            try:
                metrics, used = run_system(name, args, work / f"rep{rep}")
            except Exception as exc:  # a peer that cannot run here is reported with the reason
                failures[name] = f"{type(exc).__name__}: {exc}"
                say(f"  {name}: FAILED\n{traceback.format_exc(limit=4)}")
                continue
            data[name].append(metrics)
            settings[name] = used
    if not failures:  # kept otherwise: the servers' logs say why a system failed
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"servers' logs kept in {work}")
    text = render(args, argv, names, data, settings, failures, load, time.time() - started)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    some = "" if names == list(SYSTEMS) else "-" + "-".join(names)
    suffix = "-prod-quick" if args.quick else "-prod" + some
    path = args.results_dir / (datetime.now().strftime("%Y-%m-%d") + suffix + ".md")
    path.write_text(text)
    print(text)
    say(f"results written to {path}")
    return 1 if "flowd" in failures else 0


def _load() -> str:
    one, five, fifteen = (f"{x:.2f}" for x in __import__("os").getloadavg())
    return f"{one} / {five} / {fifteen}"


def render(
    args: argparse.Namespace,
    argv: list[str] | None,
    names: list[str],
    data: dict[str, list[dict[str, float]]],
    settings: dict[str, tuple[str, ...]],
    failures: dict[str, str],
    load: str,
    elapsed: float,
) -> str:
    """The results file: table, ratios, every setting, the reasons for missing cells, the method."""
    command = "python bench/prod_bench.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    labels = {"flowd": "flowd", "prefect": "Prefect", "airflow": "Airflow", "dagster": "Dagster"}
    peers = [n for n in names if n != "flowd"]
    head = ["Workload / metric", *[labels[n] for n in names]]
    if "flowd" in names and peers:
        head.append("flowd ÷ peer")
    lines = [
        f"# flowd in production, side by side: {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Command: `{command.strip()}` ({args.reps} repetition{'s' if args.reps > 1 else ''}, "
        f"{elapsed / 60:.1f} min). Load average (1/5/15 min) at the start: {load}; at the end: {_load()}.",
        "",
        *report.machine({"flowd": _version()}),
        f"- PostgreSQL: {_pg_version()} on 127.0.0.1:5432 (a database per system and run, dropped after)",
        f"- sizes: P1 {args.burst} runs, P2 {args.latency} submissions, P3 one 20-task chain per repetition",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for key, label, unit, digits in ROWS:
        cells = [label.format(burst=args.burst, latency=args.latency)]
        for name in names:
            values = [m[key] for m in data[name] if key in m]
            cells.append(summarize(values).fmt(unit, digits) if values else "— (see below)")
        if "flowd" in names and peers:
            ours = [m[key] for m in data["flowd"] if key in m]
            ratios = []
            for name in peers:
                ratio = paired_ratio(ours, [m[key] for m in data[name] if key in m])
                if ratio is not None:
                    ratios.append(f"{labels[name]} {ratio:.3g}")
            cells.append(" · ".join(ratios))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cells are median (min–max) over the repetitions; P2's spread over its submissions is below.",
    ]
    for name in names:
        for i, m in enumerate(data[name]):
            if "first_task_min_ms" in m:
                lines.append(
                    f"- {labels[name]} repetition {i + 1}: P2 min–max {m['first_task_min_ms']:.0f}–"
                    f"{m['first_task_max_ms']:.0f} ms; P1 submissions took {m['submit_s']:.2f} s"
                )
    lines += ["", "Settings:"]
    for name in names:
        for item in settings.get(name, ()):
            lines.append(f"- {labels[name]}: {item}")
    if failures:
        lines += ["", "Missing cells:"]
        lines += [f"- {labels[n]}: {why}" for n, why in failures.items()]
    lines += ["", METHOD.strip(), ""]
    return "\n".join(lines)


METHOD = """
Method. One window for every system: from the API call that submits a run to the moment its end is committed
in that system's own PostgreSQL database (the harness polls the database: flowd `executions.state`, Prefect
`flow_run.state_type`, Airflow `dag_run.state`, Dagster `runs.status`). P1: the runs are submitted by 16
client threads; runs/s = runs ÷ (first submission → last end committed). P2: each submission waits for the
previous run's end; the latency is the client's clock before the call → the first task's start (flowd: the
attempt's start date from `GET /api/v1/executions/{id}`; peers: `time.time()` written inside the task; same
machine, same clock). P3: 20 sequential tasks each sleeping 100 ms (flowd: `Sleep PT0.1S`; peers:
`time.sleep(0.1)` in the task); overhead per task = (window − 2 s) ÷ 20. P4: the summed RSS of every process
tree the system started (servers, schedulers, workers and their children; PostgreSQL's own processes are
shared and not counted), after start-up plus 5 s idle, and the peak polled every 100 ms during P1.
Order within a repetition: idle RSS, P3, P2, P1. Every system runs in its own database and process tree,
one after the other, never at the same time.
"""


def _version() -> str:
    try:
        from daemon import __version__

        return str(__version__)
    except ImportError:
        return "?"


def _pg_version() -> str:
    try:
        import psycopg
        from harness.prod_base import admin_role, pg_url

        with psycopg.connect(pg_url("postgres", role=admin_role())) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
