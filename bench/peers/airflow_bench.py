"""Apache Airflow 3 workloads (run with the Airflow virtual environment's Python; ``dag.test()``).

``dag.test()`` runs the DAG's task instances one after the other in this process, so the fan-out's
``max_active_tasks=8`` does not make it parallel. ``AIRFLOW_HOME`` points at a home whose metadata database
the ``setup`` step migrated once (untimed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from common import echo_body, emit, noop_body, parse_args, sleep_body, stamp, timed

START = datetime(2024, 1, 1)

DAG_FILE = """from datetime import datetime

from airflow.sdk import DAG, task


@task
def extract():
    return {i}


@task
def double(x):
    return x * 2


@task
def report(x):
    print("total", x)


with DAG("dag_{i}", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
    report(double(extract()))
"""


def build(dag_id: str, n: int, *, shape: str) -> object:
    from airflow.sdk import DAG, task

    @task
    def noop(name: str) -> None:
        noop_body(name)

    @task
    def echo(name: str) -> None:
        echo_body(name)

    @task
    def sleeper(name: str) -> None:
        sleep_body(name)

    with DAG(dag_id, schedule=None, start_date=START, catchup=False, max_active_tasks=8) as dag:
        if shape in ("fan", "shellfan"):
            branch = sleeper if shape == "shellfan" else noop
            root = noop.override(task_id="root")("root")
            join = noop.override(task_id="join")("join")
            for i in range(n):
                root >> branch.override(task_id=f"t{i}")(f"t{i}") >> join
        else:
            body = echo if shape == "shell" else noop
            previous = None
            for i in range(n):
                current = body.override(task_id=f"t{i}")(f"t{i}")
                if previous is not None:
                    previous >> current
                previous = current
    return dag


def one() -> object:
    from airflow.sdk import DAG, task

    @task
    def first() -> None:
        now = time.time()
        stamp("first", now, now)

    with DAG("one", schedule=None, start_date=START, catchup=False) as dag:
        first()
    return dag


DAG_MODULE = """import sys

sys.path.insert(0, {peers!r})
from airflow_bench import build, one  # noqa: E402

dag = {call}
"""


def use_dags_folder(folder: Path, call: str) -> None:
    """dag.test() re-parses the DAG bundle that owns the DAG: give it a folder holding only this DAG's file
    (a module calling the same builder), set before airflow is imported."""
    dags = folder / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "bench_dag.py").write_text(DAG_MODULE.format(peers=str(Path(__file__).parent), call=call))
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)


def run(dag: object) -> None:
    result = dag.test()  # type: ignore[attr-defined]
    state = str(getattr(result, "state", "success"))
    if "success" not in state:
        raise SystemExit(f"dag run ended {state}")


def main() -> None:
    args = parse_args()
    folder = Path(args.dir)
    if args.workload == "setup":
        use_dags_folder(folder, "one()")
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        emit(run_s=timed(lambda: run(one())))
    elif args.workload in ("w1", "w2", "w2s", "w5"):
        shape = {"w1": "chain", "w2": "fan", "w2s": "shellfan", "w5": "shell"}[args.workload]
        use_dags_folder(folder, f"build('bench_{shape}', {args.n}, shape='{shape}')")
        dag = build(f"bench_{shape}", args.n, shape=shape)
        emit(run_s=timed(lambda: run(dag)))
    elif args.workload == "w3":
        use_dags_folder(folder, "one()")
        run(one())
        emit()
    elif args.workload == "w4-prepare":
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(args.n):
            (folder / f"dag_{i}.py").write_text(DAG_FILE.format(i=i))
        emit()
    elif args.workload == "w4":
        from airflow.models.dagbag import DagBag

        t0 = time.perf_counter()
        bag = DagBag(dag_folder=str(folder))  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES=False
        elapsed = time.perf_counter() - t0
        if bag.import_errors:
            raise SystemExit(f"import errors: {list(bag.import_errors.items())[:2]}")
        emit(load_s=elapsed, loaded=len(bag.dags))
    else:
        sys.exit(f"unknown workload {args.workload}")


if __name__ == "__main__":
    main()
