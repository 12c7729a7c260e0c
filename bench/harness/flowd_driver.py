"""The in-process driver flowd's run workloads time (run as a fresh process by ``flowd_work``).

What ``flowd execute --local`` does, with one window around it: from the ``create_execution`` call to the
moment the ended execution is read back committed from the store (``run_until_done``, then a fresh read of
the row). The peers' window is the same: their flow call, which returns once their persistence is done.
Opening the store is outside the window; the process's whole life is the harness's ``wall_s``.

The first run of a fresh process pays one-time costs inside its window (the flow's first parse builds the
pydantic models, ~0.3-0.7 s here), as the peers' first flow call in their fresh process pays theirs. The run
is then repeated in the same process: ``warm_s`` is what a long-lived daemon pays per execution.

    python bench/harness/flowd_driver.py NAMESPACE/FLOW_ID   # FLOWD_HOME / FLOWD_DATABASE_URL as for flowd
Prints one line ``BENCH {"window_s": ..., "warm_s": ..., "shape": ...}`` (the first execution, Kestra's
API shape).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def main(ref: str) -> int:
    """Run ``ref`` once and print the window and the committed execution."""
    from daemon.clock import SystemClock
    from daemon.engine.api_shape import execution_to_api
    from daemon.engine.executor import Executor
    from daemon.engine.states import is_terminal
    from daemon.settings import Settings
    from daemon.store import Store
    from daemon.tasks.registry import PLUGINS

    namespace, _, flow_id = ref.rpartition("/")
    settings = Settings()
    store = Store.open(settings.db_url())
    try:
        record = store.flows.get(namespace, flow_id)
        if record is None:
            raise SystemExit(f"flow {ref} is not deployed")
        executor = Executor(store, settings, SystemClock(), PLUGINS, workers=settings.workers)
        windows, ids = [], []
        for _ in range(2):
            t0 = time.perf_counter()
            execution_id = executor.create_execution(record, {}, own=True)
            asyncio.run(executor.run_until_done(execution_id))
            row = store.executions.get(execution_id)  # the committed end, read back
            windows.append(time.perf_counter() - t0)
            if row is None or not is_terminal(row.state):
                raise SystemExit(f"execution {execution_id} is not ended in the store")
            if row.state not in ("SUCCESS", "WARNING"):
                raise SystemExit(f"execution {execution_id} ended {row.state}")
            ids.append(execution_id)
        first = store.executions.get(ids[0])
        assert first is not None
        shape = execution_to_api(first, store.executions.list_task_runs(ids[0]))
    finally:
        store.close()
    print("BENCH " + json.dumps({"window_s": windows[0], "warm_s": windows[1], "shape": shape}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
