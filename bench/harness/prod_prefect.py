"""Prefect 3 in production: ``prefect server start`` on PostgreSQL (asyncpg) and a process serving the flows
(``serve(...)``, each flow run in its own subprocess, at most 8 at a time); runs created through the REST API
(``POST /api/deployments/{id}/create_flow_run``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import httpx

from harness.peers import PEERS_DIR
from harness.prod_base import Peer, wait_for

TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
POLL_SECONDS = "1"  # the runner's poll of the server for scheduled runs (Prefect's default: 10 s)


class Prefect(Peer):
    """Prefect server + a served-flows runner."""

    name = "prefect"
    label = "Prefect"

    def __init__(self, work: Path, port: int, cache: Path) -> None:
        super().__init__(work, port)
        self.bin = cache / "venvs" / "prefect" / "bin"
        self.ts_file = self.work / "stamps.txt"

    def start(self) -> None:
        api = f"http://127.0.0.1:{self.port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PYTHONPATH"))}
        env.update(
            PREFECT_HOME=str(self.work / "home"),
            PREFECT_API_DATABASE_CONNECTION_URL=self.db.url("postgresql+asyncpg"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_RUNNER_POLL_FREQUENCY=POLL_SECONDS,
            BENCH_TS_FILE=str(self.ts_file),
        )
        self.settings = (
            "`prefect server start --host 127.0.0.1 --port <port>` with "
            "`PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://…/<fresh database>` (UI and other "
            "settings at their defaults)",
            "worker: `bench/peers/prefect_serve.py`, "
            "`serve(one.to_deployment(...), chain.to_deployment(...), "
            f"limit=8)` with `PREFECT_API_URL` set; each flow run in its own subprocess; "
            f"`PREFECT_RUNNER_POLL_FREQUENCY={POLL_SECONDS}` (default 10 s)",
            "runs created with `POST /api/deployments/{id}/create_flow_run`",
        )
        server = [
            str(self.bin / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.processes.start("prefect-server", server, env)
        self.client = httpx.Client(base_url=api, timeout=120)
        wait_for("prefect server", lambda: self.client.get("/health").status_code == 200, self.processes)
        serve_env = dict(env, PREFECT_API_URL=api, PYTHONPATH=str(PEERS_DIR))
        self.processes.start("prefect-serve", [str(self.bin / "python"), str(PEERS_DIR / "prefect_serve.py")],
                             serve_env, cwd=PEERS_DIR)  # fmt: skip
        self.deployments: dict[str, str] = {}

        def deployed() -> bool:
            for kind in ("one", "chain"):
                response = self.client.get(f"/deployments/name/{kind}/bench")
                response.raise_for_status()
                self.deployments[kind] = response.json()["id"]
            return True

        wait_for("prefect served deployments", deployed, self.processes)

    def submit(self, kind: str) -> str:
        response = self.client.post(f"/deployments/{self.deployments[kind]}/create_flow_run", json={})
        response.raise_for_status()
        run_id: str = response.json()["id"]
        return run_id

    def ended(self, run_ids: Iterable[str]) -> dict[str, str]:
        rows = self.db.rows(
            "SELECT id::text, state_type::text FROM flow_run"
            " WHERE id = ANY(%s::uuid[]) AND state_type::text = ANY(%s)",
            (list(run_ids), list(TERMINAL)),
        )
        return {str(r): str(s) for r, s in rows}
