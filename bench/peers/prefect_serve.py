"""Prefect's production-mode worker for bench/prod_bench.py: the two flows served from this process
(``flow.serve``-style ``serve(...)``: a runner polling the server, each flow run in a subprocess).

Run with the Prefect environment's Python and ``PREFECT_API_URL`` pointing at a ``prefect server start``.
"""

from __future__ import annotations

import os
import sys
import time

from common import stamp
from prefect import flow, serve, task
from prefect.runtime import flow_run


@task
def first() -> None:
    now = time.time()
    stamp(str(flow_run.id), now, now)


@task
def nap() -> None:
    time.sleep(0.1)


@flow(name="one")
def one() -> None:
    first()


@flow(name="chain")
def chain() -> None:
    for _ in range(20):
        nap()


if __name__ == "__main__":
    limit = int(os.environ.get("BENCH_LIMIT", "8"))
    sys.exit(serve(one.to_deployment(name="bench"), chain.to_deployment(name="bench"), limit=limit))
