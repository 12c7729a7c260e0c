"""Benchmark: ``flowd validate`` over 1,000 distinct flow files of about 30 lines, and the CLI's import time.

Method: the flows are generated into a temporary folder (varied ids, task types, crons, expressions, inputs);
``flowd validate <folder>`` runs as a subprocess (interpreter start-up and imports included) ``--runs`` times
and the minimum and median wall-clock times are printed. Import time is measured twice with
``python -X importtime``: the CLI entry module (what ``flowd --help`` pays), and the cumulative import of the
validation pipeline (what ``flowd validate`` pays before reading a file).
Target: 1,000 files in <= 2 s on one core (run it under ``taskset -c 0``).

    python bench/validate_bench.py [--files 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = "from daemon.cli.main import main; main()"
TARGET_SECONDS = 2.0


def flow_text(n: int) -> str:
    """One ~30-line flow; ``n`` varies ids, namespace, types and expressions."""
    kind = n % 3
    middle = {
        0: (
            "  - id: fetch\n"
            "    type: io.kestra.plugin.core.http.Request\n"
            '    uri: "https://example.invalid/{{ inputs.day }}"\n'
            "    retry:\n      type: constant\n      maxAttempt: 3\n      interval: PT10S\n"
        ),
        1: (
            "  - id: fetch\n"
            "    type: io.kestra.plugin.scripts.shell.Commands\n"
            "    commands:\n      - echo {{ inputs.day }}\n      - sleep 1\n"
            "    timeout: PT5M\n"
        ),
        2: (
            "  - id: fetch\n"
            "    type: io.kestra.core.tasks.scripts.Python\n"
            "    script: |\n      print('{{ inputs.day }}')\n"
        ),
    }[kind]
    return (
        f"id: flow_{n}\n"
        f"namespace: bench.team{n % 17}\n"
        f"description: generated flow number {n}\n"
        "labels:\n  owner: bench\n"
        "inputs:\n  - id: day\n    type: STRING\n    defaults: today\n"
        "tasks:\n"
        f"{middle}"
        "  - id: branch\n"
        "    type: io.kestra.plugin.core.flow.If\n"
        "    condition: \"{{ inputs.day == 'today' }}\"\n"
        "    then:\n"
        "      - id: report\n"
        "        type: io.kestra.plugin.core.log.Log\n"
        '        message: "done {{ outputs.fetch }}"\n'
        "triggers:\n"
        "  - id: schedule\n"
        "    type: io.kestra.plugin.core.trigger.Schedule\n"
        f'    cron: "{n % 60} {n % 24} * * *"\n'
        "    timezone: Europe/Paris\n"
    )


def generate(folder: Path, count: int) -> int:
    """Write ``count`` flows; return their mean line count."""
    lines = 0
    for n in range(count):
        text = flow_text(n)
        lines += text.count("\n")
        (folder / f"team{n % 17}" / f"flow_{n}.yml").parent.mkdir(exist_ok=True)
        (folder / f"team{n % 17}" / f"flow_{n}.yml").write_text(text)
    return lines // count


def time_validate(folder: Path, runs: int) -> list[float]:
    """Wall-clock seconds of ``flowd validate folder`` as a fresh subprocess, ``runs`` times."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CLI, "validate", str(folder)], capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"validate failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return times


def import_time(module: str) -> float:
    """Cumulative import time (s) of ``module`` from ``python -X importtime`` (best of 3)."""
    best = float("inf")
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True
        )
        for line in done.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                best = min(best, int(parts[1]) / 1e6)
    return best


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="flowd-validate-bench-"))
    try:
        mean_lines = generate(folder, args.files)
        times = time_validate(folder, args.runs)
        baseline = time_validate_startup(args.runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    best, median = min(times), statistics.median(times)
    print(
        f"flowd validate: {args.files} files of ~{mean_lines} lines, {args.runs} runs "
        "(subprocess, wall clock)"
    )
    print(
        f"  min {best:.3f} s   median {median:.3f} s   "
        f"target <= {TARGET_SECONDS:.1f} s: {'met' if best <= TARGET_SECONDS else 'MISSED'}"
    )
    print(f"  bare interpreter start-up: min {baseline:.3f} s")
    print(f"  per file (min run minus start-up): {(best - baseline) / args.files * 1e3:.2f} ms")
    print("import time (python -X importtime, cumulative, best of 3)")
    print(f"  daemon.cli.main (flowd --help): {import_time('daemon.cli.main') * 1e3:.0f} ms")
    print(
        "  daemon.language.validate (flowd validate pays this): "
        f"{import_time('daemon.language.validate') * 1e3:.0f} ms"
    )


def time_validate_startup(runs: int) -> float:
    """Minimum wall-clock time of a bare ``python -c pass`` (the floor any subprocess pays)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    main()
