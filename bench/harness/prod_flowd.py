"""flowd in production: ``flowd run`` on PostgreSQL, executions submitted through its HTTP API."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from harness import flowgen
from harness.flowd_work import epoch, flowd_argv, flowd_env
from harness.prod_base import System, wait_for

TERMINAL = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")


class Flowd(System):
    """``flowd run --source <folder> --listen 127.0.0.1:<port> --db postgresql://...`` (8 worker slots)."""

    name = "flowd"
    label = "flowd"

    def start(self) -> None:
        flows = self.work / "flows"
        flows.mkdir(exist_ok=True)
        # one no-op task that is not inline (claimed, run as an attempt, its end committed), and the P3 chain
        (flows / "one.yml").write_text(flowgen.sleep_chain(1, flow_id="one"))
        (flows / "chain.yml").write_text(flowgen.sleep_chain(20, flow_id="chain", duration="PT0.1S"))
        url = self.db.url()
        argv = [
            *flowd_argv(),
            "run",
            "--source",
            str(flows),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--db",
            url,
        ]
        self.settings = (
            "`flowd run --source <flows> --listen 127.0.0.1:<port> --db postgresql://…/<fresh database>`",
            "8 worker slots (default `--workers 8`)",
            "flows: `one` = 1 × `io.kestra.plugin.core.flow.Sleep` `PT0S` (not inline); "
            "`chain` = 20 × Sleep `PT0.1S`",
            "submitted with `POST /api/v1/executions/bench/<flow>`",
        )
        self.processes.start("flowd-run", argv, flowd_env(self.work / "home"))
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

        def ready() -> bool:
            flows_up = self.client.get("/api/v1/flows/bench/chain")
            return self.client.get("/api/health").status_code == 200 and flows_up.status_code == 200

        wait_for("flowd run", ready, self.processes)

    def submit(self, kind: str) -> str:
        response = self.client.post(f"/api/v1/executions/bench/{kind}")
        response.raise_for_status()
        run_id: str = response.json()["id"]
        return run_id

    def ended(self, run_ids: Iterable[str]) -> dict[str, str]:
        rows = self.db.rows(
            "SELECT id, state FROM executions WHERE id = ANY(%s) AND state = ANY(%s)",
            (list(run_ids), list(TERMINAL)),
        )
        return {str(r): str(s) for r, s in rows}

    def first_task_started(self, run_id: str) -> float:
        response = self.client.get(f"/api/v1/executions/{run_id}")
        response.raise_for_status()
        runs = response.json()["taskRunList"]
        return min(epoch(r["attempts"][0]["state"]["startDate"]) for r in runs if r.get("attempts"))

    def stop(self) -> None:
        try:
            self.client.close()
        finally:
            super().stop()
