"""Apache Airflow 3 in production: ``airflow api-server`` + ``airflow scheduler`` (LocalExecutor) +
``airflow dag-processor`` on a PostgreSQL metadata database; runs triggered through the REST API
(``POST /api/v2/dags/{dag_id}/dagRuns``, token from the simple auth manager)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx

from harness.peers import PEERS_DIR
from harness.prod_base import Peer, wait_for

TERMINAL = ("success", "failed")


class Airflow(Peer):
    """Airflow's three long-lived components on one metadata database."""

    name = "airflow"
    label = "Airflow"

    def __init__(self, work: Path, port: int, cache: Path) -> None:
        super().__init__(work, port)
        self.bin = cache / "venvs" / "airflow" / "bin"
        self.ts_file = self.work / "stamps.txt"

    def start(self) -> None:
        dags = self.work / "dags"
        dags.mkdir(exist_ok=True)
        shutil.copy(PEERS_DIR / "airflow_prod_dags.py", dags / "bench_dags.py")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH"))}
        config = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db.url("postgresql+psycopg2"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        }
        env.update(config, AIRFLOW_HOME=str(self.work / "home"), BENCH_TS_FILE=str(self.ts_file),
                   SCARF_ANALYTICS="false", DO_NOT_TRACK="1",
                   AIRFLOW__USAGE_DATA_COLLECTION__ENABLED="False")  # fmt: skip
        shown = {k: v for k, v in config.items() if "SECRET" not in k and "CONN" not in k}
        shown["AIRFLOW__CORE__DAGS_FOLDER"] = "<dags>"
        self.settings = (
            "`airflow db migrate` (untimed), then `airflow api-server`, `airflow scheduler`, "
            "`airflow dag-processor`, each a long-lived process",
            "`AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://…/<fresh database>`, "
            + ", ".join(f"`{k}={v}`" for k, v in shown.items() if "PORT" not in k and "URL" not in k),
            "others at their defaults (e.g. `max_active_runs_per_dag` 16, `max_active_tasks_per_dag` 16)",
            "DAGs: `bench/peers/airflow_prod_dags.py`; runs triggered with "
            "`POST /api/v2/dags/{dag_id}/dagRuns` "
            "(token: `GET /auth/token`, all-admins simple auth manager)",
        )
        airflow = str(self.bin / "airflow")
        log = (self.work / "migrate.log").open("wb")
        subprocess.run([airflow, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        log.close()
        for component in ("api-server", "scheduler", "dag-processor"):
            self.processes.start(f"airflow-{component}", [airflow, component], env)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=120)

        def ready() -> bool:
            if "Authorization" not in self.client.headers:
                token = self.client.get("/auth/token").json()["access_token"]
                self.client.headers["Authorization"] = f"Bearer {token}"
            for dag_id in ("one", "chain"):
                self.client.get(f"/api/v2/dags/{dag_id}").raise_for_status()
            return True

        wait_for("airflow api-server and parsed DAGs", ready, self.processes, timeout=300)

    def submit(self, kind: str) -> str:
        run_id = f"bench_{uuid.uuid4().hex}"
        response = self.client.post(
            f"/api/v2/dags/{kind}/dagRuns", json={"dag_run_id": run_id, "logical_date": None}
        )
        response.raise_for_status()
        return run_id

    def ended(self, run_ids: Iterable[str]) -> dict[str, str]:
        rows = self.db.rows(
            "SELECT run_id, state FROM dag_run WHERE run_id = ANY(%s) AND state = ANY(%s)",
            (list(run_ids), list(TERMINAL)),
        )
        return {str(r): str(s) for r, s in rows}
