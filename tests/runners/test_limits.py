"""Resource limits and registry credentials as the Docker engine wants them (pure)."""

from __future__ import annotations

import pytest

from daemon.errors import TaskError
from daemon.runners.docker_images import auth_config
from daemon.runners.limits import memory_bytes, nano_cpus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MB", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("512Mi", 512 * 1024**2),
        ("1g", 1024**3),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("64k", 64 * 1024),
        ("1000", 1000),
        (2048, 2048),
    ],
)
def test_memory_bytes(text: str | int, expected: int) -> None:
    assert memory_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "12x", "-1g", "0"])
def test_bad_memory_is_a_task_error(text: str) -> None:
    with pytest.raises(TaskError, match="docker: invalid memory limit"):
        memory_bytes(text)


def test_nano_cpus() -> None:
    assert nano_cpus(1.5) == 1_500_000_000
    assert nano_cpus(0.25) == 250_000_000
    with pytest.raises(TaskError):
        nano_cpus(0)


def test_auth_config_maps_kestra_names() -> None:
    assert auth_config(None) is None
    assert auth_config({}) is None
    assert auth_config({"username": "u", "password": "p", "registry": "reg.example:5000"}) == {
        "username": "u",
        "password": "p",
        "serveraddress": "reg.example:5000",
    }
