"""GitSource speed on a generated repository of 10,000 flow files.

Method: a work repository with N flow files spread over 100 folders is committed with the git CLI (inherited
GIT_* variables stripped) and pushed to a bare repository served over file://. A fresh GitSource then takes
(1) the first snapshot (clone + read every blob), (2) a no-op re-snapshot (fetch, same commit), (3) an
incremental snapshot after one file was changed and pushed (fetch + tree diff + one blob). Each figure is the
median of ``--runs`` repetitions (steps 2 and 3 reuse one clone; step 1 uses a new cache folder each run).

    python bench/sources_bench.py [--flows 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from daemon.sources import GitSource


def git(*args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", HOME=str(cwd))
    env.update(GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def flow(i: int, message: str = "hello") -> str:
    return (
        f"id: flow_{i}\nnamespace: bench.n{i % 100}\ntasks:\n"
        f"  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: {message} {i}\n"
    )


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        work, server = base / "work", base / "server.git"
        work.mkdir()
        git("init", "-q", "-b", "main", cwd=work)
        git("init", "-q", "--bare", "-b", "main", str(server), cwd=base)
        for i in range(args.flows):
            folder = work / f"ns{i % 100}"
            folder.mkdir(exist_ok=True)
            (folder / f"flow_{i}.yml").write_text(flow(i))
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", "init", cwd=work)
        git("push", "-q", server.as_uri(), "HEAD:refs/heads/main", cwd=work)

        first = [
            timed(lambda n=n: GitSource(server.as_uri(), cache_dir=base / f"cache{n}").snapshot())
            for n in range(args.runs)
        ]
        src = GitSource(server.as_uri(), cache_dir=base / "cache0")
        snap = src.snapshot()
        assert len(snap.files) == args.flows
        noop = [timed(lambda: src.snapshot(snap)) for _ in range(args.runs)]
        incremental = []
        for run in range(args.runs):
            (work / "ns7" / "flow_7.yml").write_text(flow(7, message=f"changed {run}"))
            git("commit", "-q", "-am", f"change {run}", cwd=work)
            git("push", "-q", server.as_uri(), "HEAD:refs/heads/main", cwd=work)
            start = time.perf_counter()
            new = src.snapshot(snap)
            incremental.append(time.perf_counter() - start)
            assert f"changed {run}".encode() in new.files["ns7/flow_7.yml"]
            snap = new
        print(f"flows: {args.flows}, runs: {args.runs} (median seconds)")
        print(f"first snapshot (clone + read all): {statistics.median(first):.3f}")
        print(f"no-op re-snapshot (fetch):         {statistics.median(noop):.3f}")
        print(f"one-file incremental snapshot:     {statistics.median(incremental):.3f}")


if __name__ == "__main__":
    main()
