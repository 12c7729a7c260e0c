"""``flowd status --nodes``: the node registry as a table and as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.clock import SystemClock
from daemon.cluster.nodes import Node, NodeRepository
from daemon.store import Store


def test_status_nodes(db_url: str) -> None:
    now = SystemClock().now()
    with Store.open(db_url) as store:
        repo = NodeRepository(store.engine)
        for node_id, leader in (("n-lead", True), ("n-work", False)):
            repo.beat(
                Node(
                    node_id=node_id,
                    host="box",
                    pid=1,
                    roles="executor,worker",
                    version="1",
                    listen=None,
                    leader=leader,
                    started_at=now - timedelta(minutes=1),
                    last_beat=now,
                )
            )
    as_json = CliRunner().invoke(cli, ["status", "--nodes", "--json", "--db", db_url])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["leader"] == "n-lead" and [n["id"] for n in data["nodes"]] == ["n-lead", "n-work"]
    table = CliRunner().invoke(cli, ["status", "--nodes", "--db", db_url])
    assert table.exit_code == 0 and "leader: n-lead" in table.output and "n-work" in table.output
