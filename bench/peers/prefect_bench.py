"""Prefect 3 workloads (run with the Prefect virtual environment's Python; ephemeral local API server)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from common import echo_body, emit, noop_body, parse_args, sleep_body, stamp, timed
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

FLOW_FILE = """from prefect import flow, task


@task
def extract_{i}():
    return {i}


@task
def double_{i}(x):
    return x * 2


@task
def report_{i}(x):
    print("total", x)


@flow(name="flow-{i}")
def flow_{i}():
    report_{i}(double_{i}(extract_{i}()))
"""


@task
def noop(name: str) -> None:
    noop_body(name)


@task
def echo(name: str) -> None:
    echo_body(name)


@task
def sleeper(name: str) -> None:
    sleep_body(name)


@task
def first() -> None:
    now = time.time()
    stamp("first", now, now)


@flow
def chain(n: int) -> None:
    for i in range(n):
        noop(f"t{i}")


@flow(task_runner=ThreadPoolTaskRunner(max_workers=8))
def fan(n: int) -> None:
    root = noop.submit("root")
    root.wait()
    branches = [noop.submit(f"t{i}", wait_for=[root]) for i in range(n)]
    noop.submit("join", wait_for=branches).result()


@flow(task_runner=ThreadPoolTaskRunner(max_workers=8))
def shellfan(n: int) -> None:
    for future in [sleeper.submit(f"t{i}") for i in range(n)]:
        future.result()


@flow
def shell(n: int) -> None:
    for i in range(n):
        echo(f"t{i}")


@flow
def one() -> None:
    first()


def load_all(folder: Path) -> int:
    """Import every flow file and take its flow object, as a deployment's entrypoint loading does."""
    count = 0
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        count += sum(1 for name in vars(module) if name.startswith("flow_"))
    return count


def main() -> None:
    args = parse_args()
    folder = Path(args.dir)
    if args.workload == "setup":
        emit(run_s=timed(one))
    elif args.workload == "w1":
        emit(run_s=timed(lambda: chain(args.n)))
    elif args.workload == "w2":
        emit(run_s=timed(lambda: fan(args.n)))
    elif args.workload == "w2s":
        emit(run_s=timed(lambda: shellfan(args.n)))
    elif args.workload == "w3":
        one()
        emit()
    elif args.workload == "w4-prepare":
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(args.n):
            (folder / f"flow_{i}.py").write_text(FLOW_FILE.format(i=i))
        emit()
    elif args.workload == "w4":
        t0 = time.perf_counter()
        count = load_all(folder)
        emit(load_s=time.perf_counter() - t0, loaded=count)
    elif args.workload == "w5":
        emit(run_s=timed(lambda: shell(args.n)))
    else:
        sys.exit(f"unknown workload {args.workload}")


if __name__ == "__main__":
    main()
