"""W1-W7 of ``bench/run.py`` side by side for this tree and a base tree (a previous commit's worktree).

    python bench/regression_bench.py --base /work/main --label 12dd573            # W1-W6, 3 repetitions
    python bench/regression_bench.py --base /work/main --only w1,w2 --reps 5 --out bench/results/x.md

Method: the same harness (this tree's ``bench/harness``) drives both; the only difference is ``PYTHONPATH``,
which decides which tree's ``daemon`` package the ``flowd`` subprocesses import. Within each repetition of
each workload the two trees run back to back, the order alternating between repetitions, so the drift of a
shared machine falls on both alike. Both trees' bytecode is compiled beforehand into a temporary
``PYTHONPYCACHEPREFIX`` (as an installed package has it; neither tree is written to). Each cell is the
median (min–max); "ratio" is the median of the per-repetition ratios this tree ÷ base (above 1.2 on a time
is a regression of more than 20 %). W7 runs once per tree (it waits for two minute boundaries).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import flowd_work, report
from harness.suite import FLOOR, FLOWD, WORKLOADS, Results, Sizes, _attempt, _flowd, say

HERE = Path(__file__).resolve().parent.parent
BASE = "base"


def _which(tree: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import daemon; print(daemon.__file__)"],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd="/",  # a -c script has the working directory first on its path; the flowd script has not
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Run the workloads under both trees, alternating, and write the side-by-side table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="the base tree (e.g. /work/main)")
    parser.add_argument("--label", default="base", help="the base's name in the table (e.g. its commit)")
    parser.add_argument("--only", default="w1,w2,w3,w4,w5,w6")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the table here (default: print)")
    args = parser.parse_args(argv)
    trees = {FLOWD: HERE, BASE: args.base.resolve()}
    with tempfile.TemporaryDirectory(prefix="flowd-pyc-") as pyc:
        # bytecode as an installed package has it, for both trees alike, written outside them (the base
        # tree is not touched): with PYTHONDONTWRITEBYTECODE every process compiles the whole package
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = pyc
        for name, tree in trees.items():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "daemon")], check=True)
            say(f"{name}: {_which(tree)}")
        return _run(args, trees)


def _run(args: argparse.Namespace, trees: dict[str, Path]) -> int:
    workloads = [w.strip() for w in args.only.split(",") if w.strip() in WORKLOADS]
    sizes = Sizes()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="flowd-regression-") as tmp:
        work = Path(tmp)
        if "w4" in workloads:
            flowd_work.w4_prepare(work / "w4-flowd", sizes.many)
        for workload in workloads:
            say(f"== {workload}")
            for rep in range(args.reps if workload != "w7" else 1):
                order = [FLOWD, BASE] if rep % 2 == 0 else [BASE, FLOWD]
                for system in order:
                    os.environ["PYTHONPATH"] = str(trees[system])
                    _attempt(results, workload, system, _flowd(workload, sizes, work))
                if workload == "w5":
                    _attempt(results, workload, FLOOR, lambda: flowd_work.w5_floor(sizes.shell))
    report.add_floor_deltas(results)
    text = report.table(results, sizes, [(BASE, args.label)])
    text = text.replace("flowd ÷ peer", f"ratio this tree ÷ {args.label}")
    text = text.replace("| Workload / metric | flowd |", "| Workload / metric | this tree |", 1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    if results.failed:
        print("\nfailed:\n" + "\n".join(results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
