"""The DAGs Airflow's scheduler runs for bench/prod_bench.py (copied into its DAGs folder).

``one``: a single task writing its start time (with the run id) to ``BENCH_TS_FILE``; ``chain``: 20 tasks of
``time.sleep(0.1)``, one after the other.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from airflow.sdk import DAG, get_current_context, task


@task
def first() -> None:
    now = time.time()
    run_id = get_current_context()["run_id"]
    fd = os.open(os.environ["BENCH_TS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{run_id} {now:.6f} {now:.6f}\n".encode())
    finally:
        os.close(fd)


@task
def nap() -> None:
    time.sleep(0.1)


with DAG("one", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    first()

with DAG("chain", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    previous = None
    for i in range(20):
        current = nap.override(task_id=f"t{i}")()
        if previous is not None:
            previous >> current
        previous = current
