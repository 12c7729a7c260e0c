"""Dagster workloads (run with the Dagster virtual environment's Python; ``execute_in_process``).

``execute_in_process`` uses the in-process executor, which runs one op at a time: the fan-out runs its 200
ops sequentially (Dagster's parallel executors start a process per op, far slower for no-op work).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from common import echo_body, emit, noop_body, parse_args, sleep_body, stamp, timed
from dagster import Definitions, In, JobDefinition, Nothing, Out, job, op

JOB_FILE = """from dagster import job, op


@op
def extract_{i}():
    return {i}


@op
def double_{i}(x):
    return x * 2


@op
def report_{i}(x):
    print("total", x)


@job(name="job_{i}")
def job_{i}():
    report_{i}(double_{i}(extract_{i}()))
"""


def make_op(name: str, body: Any = noop_body) -> Any:
    """An op named ``name`` running ``body``, after an optional Nothing-typed upstream."""
    ins = {"after": In(Nothing)}

    @op(name=name, ins=ins, out=Out(Nothing))
    def _op() -> None:
        body(name)

    return _op


def chain_job(n: int, body: Any = noop_body) -> JobDefinition:
    ops = [make_op(f"t{i}", body) for i in range(n)]

    @job(name="chain")
    def chain() -> None:
        previous = ops[0]()
        for item in ops[1:]:
            previous = item(after=previous)

    return chain


def fan_job(n: int, body: Any = noop_body) -> JobDefinition:
    root, join = make_op("root"), make_op("join")
    branches = [make_op(f"t{i}", body) for i in range(n)]

    @job(name="fan")
    def fan() -> None:
        start = root()
        join(after=[branch(after=start) for branch in branches])

    return fan


def one_job() -> JobDefinition:
    @op(name="first")
    def first() -> None:
        now = time.time()
        stamp("first", now, now)

    @job(name="one")
    def one() -> None:
        first()

    return one


def execute(job_def: JobDefinition) -> None:
    result = job_def.execute_in_process()
    if not result.success:
        raise SystemExit("job failed")


def load_all(folder: Path) -> int:
    """Import every job file and build one Definitions object over all jobs, resolving each job."""
    jobs = []
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        jobs.extend(v for v in vars(module).values() if isinstance(v, JobDefinition))
    defs = Definitions(jobs=jobs)
    return len(defs.get_repository_def().get_all_jobs())


def main() -> None:
    args = parse_args()
    folder = Path(args.dir)
    if args.workload == "setup":
        emit(run_s=timed(lambda: execute(one_job())))
    elif args.workload == "w1":
        job_def = chain_job(args.n)
        emit(run_s=timed(lambda: execute(job_def)))
    elif args.workload == "w2":
        job_def = fan_job(args.n)
        emit(run_s=timed(lambda: execute(job_def)))
    elif args.workload == "w2s":  # in-process executor: the 50 ms ops run one after the other
        job_def = fan_job(args.n, sleep_body)
        emit(run_s=timed(lambda: execute(job_def)))
    elif args.workload == "w3":
        execute(one_job())
        emit()
    elif args.workload == "w4-prepare":
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(args.n):
            (folder / f"job_{i}.py").write_text(JOB_FILE.format(i=i))
        emit()
    elif args.workload == "w4":
        t0 = time.perf_counter()
        count = load_all(folder)
        emit(load_s=time.perf_counter() - t0, loaded=count)
    elif args.workload == "w5":
        job_def = chain_job(args.n, echo_body)
        emit(run_s=timed(lambda: execute(job_def)))
    else:
        sys.exit(f"unknown workload {args.workload}")


if __name__ == "__main__":
    main()
