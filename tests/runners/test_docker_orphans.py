"""``cleanup_orphans`` removes the containers of gone processes only: flowd processes may share an engine."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator

import docker
import pytest

from daemon.runners.docker import HOST_LABEL, MANAGED_LABEL, PID_LABEL, cleanup_orphans, owner_labels
from tests.runners.test_docker import IMAGE, client

__all__ = ["client"]  # the runner tests' fixture: skips with the reason when no engine or image is there

pytestmark = [pytest.mark.integration, pytest.mark.docker]


@pytest.fixture
def tag(client: docker.DockerClient) -> Iterator[str]:
    """A label value marking this test's containers, all removed afterwards."""
    value = uuid.uuid4().hex[:12]
    yield value
    for container in client.containers.list(all=True, filters={"label": f"t={value}"}):
        container.remove(force=True)


def exists(client: docker.DockerClient, container_id: str) -> bool:
    return any(c.id == container_id for c in client.containers.list(all=True))


def test_owner_labels_name_this_process() -> None:
    assert owner_labels() == {HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())}


def test_containers_of_a_live_process_stay_until_it_is_gone(client: docker.DockerClient, tag: str) -> None:
    # Spare every managed container that exists already: another test run may own it.
    others = {c.id for c in client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"})}
    owner = subprocess.Popen(["sleep", "300"])
    try:
        host, pid = socket.gethostname(), str(owner.pid)
        labels = {MANAGED_LABEL: "true", "t": tag, HOST_LABEL: host, PID_LABEL: pid}
        container = client.containers.create(IMAGE, ["true"], labels=labels)
        elsewhere = client.containers.create(
            IMAGE, ["true"], labels={**labels, HOST_LABEL: f"not-{socket.gethostname()}"}
        )
        mine = client.containers.create(IMAGE, ["true"], labels={**labels, **owner_labels()})
        # another host: nothing tells us it lives; this process: the caller says none of its own runs
        assert cleanup_orphans(client, keep=others) == 2
        assert exists(client, container.id)
        assert not exists(client, elsewhere.id) and not exists(client, mine.id)
    finally:
        owner.kill()
        owner.wait()
    assert cleanup_orphans(client, keep=others) == 1
    assert not exists(client, container.id)
