"""The jobs Dagster's daemon launches for bench/prod_bench.py (the code location of its workspace).

``one``: a single op writing its start time (with the run id) to ``BENCH_TS_FILE``; ``chain``: 20 ops of
``time.sleep(0.1)``, one after the other. Both use the job's default executor.
"""

from __future__ import annotations

import os
import time

from dagster import Definitions, In, Nothing, Out, job, op


@op
def first(context) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    fd = os.open(os.environ["BENCH_TS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{context.run_id} {now:.6f} {now:.6f}\n".encode())
    finally:
        os.close(fd)


@job(name="one")
def one() -> None:
    first()


def _nap(i: int):  # type: ignore[no-untyped-def]
    @op(name=f"t{i}", ins={"after": In(Nothing)}, out=Out(Nothing))
    def nap() -> None:
        time.sleep(0.1)

    return nap


NAPS = [_nap(i) for i in range(20)]


@job(name="chain")
def chain() -> None:
    previous = NAPS[0]()
    for item in NAPS[1:]:
        previous = item(after=previous)


defs = Definitions(jobs=[one, chain])
