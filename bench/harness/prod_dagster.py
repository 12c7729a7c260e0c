"""Dagster in production: ``dagster-daemon run`` + ``dagster-webserver`` on PostgreSQL storage
(dagster-postgres), the default run coordinator and run launcher; runs submitted through GraphQL
(``launchRun``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import httpx

from harness.peers import PEERS_DIR
from harness.prod_base import Peer, wait_for

TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")
LAUNCH = """
mutation Launch($selector: JobOrPipelineSelector!) {
  launchRun(executionParams: {selector: $selector, runConfigData: {}}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
READY = """
{
  repositoriesOrError { ... on RepositoryConnection { nodes { name } } }
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } }
}
"""
INSTANCE = """storage:
  postgres:
    postgres_url: "{url}"
telemetry:
  enabled: false
"""
WORKSPACE = """load_from:
  - python_file:
      relative_path: bench_jobs.py
      location_name: bench
"""


class Dagster(Peer):
    """Dagster's daemon and webserver on one instance (``DAGSTER_HOME``)."""

    name = "dagster"
    label = "Dagster"

    def __init__(self, work: Path, port: int, cache: Path) -> None:
        super().__init__(work, port)
        self.bin = cache / "venvs" / "dagster" / "bin"
        self.ts_file = self.work / "stamps.txt"

    def start(self) -> None:
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        (home / "dagster.yaml").write_text(INSTANCE.format(url=self.db.url("postgresql+psycopg2")))
        shutil.copy(PEERS_DIR / "dagster_prod_jobs.py", self.work / "bench_jobs.py")
        (self.work / "workspace.yaml").write_text(WORKSPACE)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER", "PYTHONPATH"))}
        env.update(DAGSTER_HOME=str(home), BENCH_TS_FILE=str(self.ts_file), DO_NOT_TRACK="1")
        self.settings = (
            "`dagster-daemon run -w workspace.yaml` and `dagster-webserver -h 127.0.0.1 -p <port> -w "
            "workspace.yaml`; `dagster.yaml`: `storage: postgres: postgres_url: postgresql://…/<fresh "
            "database>`, telemetry off, run coordinator and run launcher at their defaults "
            "(`QueuedRunCoordinator`, `max_concurrent_runs` 10; `DefaultRunLauncher`, a subprocess per run), "
            "jobs on their default executor (multiprocess: a process per op)",
            "jobs: `bench/peers/dagster_prod_jobs.py` (code location `bench`); runs submitted with the "
            "GraphQL "
            "`launchRun` mutation on `/graphql`",
        )
        workspace = ["-w", "workspace.yaml"]
        self.processes.start("dagster-daemon", [str(self.bin / "dagster-daemon"), "run", *workspace], env,
                             cwd=self.work)  # fmt: skip
        web = [str(self.bin / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.port), *workspace]
        self.processes.start("dagster-webserver", web, env, cwd=self.work)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=120)

        def ready() -> bool:
            response = self.client.post("/graphql", json={"query": READY})
            data = response.json()["data"]
            loaded = data["repositoriesOrError"].get("nodes")
            daemons = data["instance"]["daemonHealth"]["allDaemonStatuses"]
            return bool(loaded) and all(d["healthy"] for d in daemons if d["required"])

        wait_for("dagster webserver, code location and daemon", ready, self.processes, timeout=300)

    def _launch(self, job: str) -> str:
        selector = {"repositoryLocationName": "bench", "repositoryName": "__repository__", "jobName": job}
        response = self.client.post("/graphql", json={"query": LAUNCH, "variables": {"selector": selector}})
        response.raise_for_status()
        result = response.json()["data"]["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launchRun: {result}")
        run_id: str = result["run"]["runId"]
        return run_id

    def submit(self, kind: str) -> str:
        return self._launch(kind)

    def ended(self, run_ids: Iterable[str]) -> dict[str, str]:
        rows = self.db.rows(
            "SELECT run_id, status FROM runs WHERE run_id = ANY(%s) AND status = ANY(%s)",
            (list(run_ids), list(TERMINAL)),
        )
        return {str(r): str(s) for r, s in rows}
