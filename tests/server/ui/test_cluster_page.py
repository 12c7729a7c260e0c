"""``/ui/cluster``: the nodes, the leader, and the nav link."""

from __future__ import annotations

from datetime import timedelta

from daemon.cluster.nodes import Node, NodeRepository
from tests.server.ui.conftest import Ui


def test_cluster_page(ui: Ui) -> None:
    now = ui.services.clock.now()
    NodeRepository(ui.store.engine).beat(
        Node(
            node_id="node-1",
            host="box",
            pid=7,
            roles="scheduler,webserver",
            version="9.9",
            listen=None,
            leader=True,
            started_at=now - timedelta(hours=1),
            last_beat=now,
        )
    )
    page = ui.client.get("/ui/cluster")
    assert page.status_code == 200
    assert '<span class="mono" id="leader">node-1</span>' in page.text
    assert "scheduler, webserver" in page.text and "<strong>leader</strong>" in page.text
    assert 'href="/ui/cluster" class="active"' in page.text


def test_cluster_page_without_nodes(ui: Ui) -> None:
    page = ui.client.get("/ui/cluster")
    assert page.status_code == 200 and "No node has beaten into this store yet." in page.text
