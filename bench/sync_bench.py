"""Sync speed on a repository of N flows (default 10,000): first sync, no-op re-sync, one-file change.

Method: build a Git repository of N flow files (one Log task each, every 10th with a Schedule trigger) in a
temporary folder, pushed to a bare repository read over file://, and an empty SQLite database (or ``--db``).
Then time, wall clock:
- long-lived: one ``Reconciler`` object (what the daemon keeps): first sync; no-op re-sync (same commit);
  one file edited, committed and pushed, then synced (the time excludes the git commit/push);
- one-shot CLI: ``flowd sync`` as a fresh subprocess (interpreter start, imports, fetch, store open) against a
  fresh database: first sync, no-op, one-file change.
Each step is checked for the expected counts. Targets: first sync <= 20 s, no-op <= 1 s, one change <= 0.5 s.

    python bench/sync_bench.py [N] [--db URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.reconcile import Reconciler
from daemon.sources import open_source
from daemon.store import Store

FLOWD = shutil.which("flowd") or "flowd"
TARGETS = {"first sync": 20.0, "no-op re-sync": 1.0, "one-file change": 0.5}


def flow(i: int, message: str = "hello") -> str:
    text = (
        f"id: flow_{i}\nnamespace: bench.ns{i % 50}\ntasks:\n"
        f"  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: {message} {i}\n"
    )
    if i % 10 == 0:
        text += "triggers:\n  - id: hourly\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        text += '    cron: "0 * * * *"\n'
    return text


def git(work: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")
    subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)


def build_repo(root: Path, n: int) -> tuple[Path, str]:
    work, server = root / "work", root / "server.git"
    (work / "flows").mkdir(parents=True)
    git(root, "init", "-q", "--bare", "-b", "main", str(server))
    git(work, "init", "-q", "-b", "main")
    for i in range(n):
        (work / "flows" / f"flow_{i}.yml").write_text(flow(i))
    commit_push(work, server)
    return work, server.as_uri()


def commit_push(work: Path, server: Path | None = None) -> None:
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "change")
    if server is not None:
        git(work, "remote", "add", "origin", str(server))
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")


def timed(label: str, fn: Callable[[], Any], results: list[tuple[str, str, float]], mode: str) -> Any:
    start = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    results.append((mode, label, elapsed))
    print(f"  {mode:<12} {label:<16} {elapsed:7.3f} s  (target {TARGETS[label]:.1f} s)", flush=True)
    return value


def long_lived(
    root: Path, work: Path, url: str, db: str, n: int, results: list[tuple[str, str, float]]
) -> None:
    store = Store.open(db)
    source = open_source(url, cache_dir=root / "cache-long")
    rec = Reconciler(store, source)
    out = timed("first sync", rec.sync, results, "long-lived")
    assert out.result == "SUCCESS" and out.counts["create"] == n, out.counts
    out = timed("no-op re-sync", rec.sync, results, "long-lived")
    assert out.counts["unchanged"] == n and not out.plan.has_changes, out.counts
    (work / "flows" / "flow_7.yml").write_text(flow(7, "changed"))
    commit_push(work)
    out = timed("one-file change", rec.sync, results, "long-lived")
    assert out.counts["update"] == 1 and out.validated == 1, (out.counts, out.validated)
    store.close()


def one_shot(root: Path, work: Path, url: str, db: str, results: list[tuple[str, str, float]]) -> None:
    env = {**os.environ, "FLOWD_HOME": str(root / "home-cli")}

    def cli() -> None:
        done = subprocess.run(
            [FLOWD, "sync", "--source", url, "--db", db],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    timed("first sync", cli, results, "one-shot CLI")
    timed("no-op re-sync", cli, results, "one-shot CLI")
    (work / "flows" / "flow_8.yml").write_text(flow(8, "changed"))
    commit_push(work)
    timed("one-file change", cli, results, "one-shot CLI")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite files in a temp folder)")
    args = parser.parse_args()
    results: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        work, url = build_repo(root, args.n)
        print(f"repository of {args.n} flows built in {time.perf_counter() - start:.1f} s ({url})")
        long_lived(root, work, url, args.db or f"sqlite:///{root / 'long.db'}", args.n, results)
        if args.db:
            print("(one-shot CLI skipped with --db: it needs an empty database)")
        else:
            one_shot(root, work, url, f"sqlite:///{root / 'cli.db'}", results)
    missed = [(m, label, t) for m, label, t in results if t > TARGETS[label]]
    for mode, label, elapsed in missed:
        print(f"MISSED: {mode} {label}: {elapsed:.3f} s > {TARGETS[label]} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
