"""``flowd test [PATHS]``: run the flow unit tests (``*.test.yml``) offline, each case in a throwaway store.

PATHS are folders searched for test files, test files, or flow files (which select the tests of those flows:
what the pre-commit hook passes). Flows are read from ``--flows`` (default: the current folder).
Exit status: 0 every case passed (or none was found), 1 a case failed or could not run, 2 usage or unreadable
test files.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from daemon.cli.common import handle_errors


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--flows", "flow_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Folder or file of flows under test (repeatable; default: the current folder).",
)  # fmt: skip
@click.option(
    "--mock-all", is_flag=True, help="Mock every task that has no fixture (ends SUCCESS, no outputs)."
)
@click.option("--junit-xml", "junit", type=click.Path(path_type=Path), help="Also write a JUnit XML report.")
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Cases run at once (default: 4)."
)
@click.option("-q", "--quiet", is_flag=True, help="Only print failures and the summary.")
@handle_errors
def command(
    paths: tuple[Path, ...], flow_paths: tuple[Path, ...], mock_all: bool, junit: Path | None,
    jobs: int | None, quiet: bool,
) -> None:  # fmt: skip
    """Run flow unit tests: fixtures mock inputs, files and tasks; assertions check the execution."""
    sys.exit(run(paths=paths, flow_paths=flow_paths, mock_all=mock_all, junit=junit, jobs=jobs, quiet=quiet))


def run(
    *,
    paths: tuple[Path, ...] = (),
    flow_paths: tuple[Path, ...] = (),
    mock_all: bool = False,
    junit: Path | None = None,
    jobs: int | None = None,
    quiet: bool = False,
) -> int:
    """The command without click; returns the exit status."""
    from daemon.flowtests.discovery import collect_flows, collect_suites
    from daemon.flowtests.report import failure_blocks, progress_line, summary_line, write_junit
    from daemon.flowtests.runner import run_suites

    started = time.perf_counter()
    targets = paths or (Path("."),)
    suites, problems = collect_suites(targets)
    for diagnostic in problems:
        click.echo(diagnostic.render(), err=True)
    if problems:
        return 2
    if not suites:
        click.echo("no flow tests found (test files are named *.test.yml)")
        return 0
    flows = collect_flows(flow_paths or (Path("."),))
    count = sum(len(s.test_cases) for s in suites)
    click.echo(f"collected {count} test case{'s' if count != 1 else ''} in {len(suites)} file(s)")

    def show(result: object) -> None:
        from daemon.flowtests.runner import CaseResult

        assert isinstance(result, CaseResult)
        if not quiet or result.state in ("FAILED", "ERROR"):
            click.echo(progress_line(result))

    results = run_suites(
        suites, flows, mock_all=mock_all, jobs=jobs or min(4, os.cpu_count() or 1), on_result=show
    )
    seconds = time.perf_counter() - started
    blocks = failure_blocks(results)
    if blocks:
        click.echo("")
        click.echo("\n".join(["=" * 20 + " FAILURES " + "=" * 20, *blocks]))
    click.echo(summary_line(results, seconds))
    if junit is not None:
        write_junit(junit, results, seconds)
    return 1 if any(r.state in ("FAILED", "ERROR") for r in results) else 0
