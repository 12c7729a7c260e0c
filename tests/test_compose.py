"""docker-compose.yml and the Dockerfile agree with each other and with the settings flowd reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "flowd", "worker"}


def test_worker_nodes_scale_on_database_storage(compose: dict[str, Any]) -> None:
    # `docker compose up --scale worker=N`: more nodes on the same database, none by default
    flowd, worker = compose["services"]["flowd"], compose["services"]["worker"]
    assert worker["scale"] == 0 and "ports" not in worker
    for key in ("build", "image", "user", "command", "init", "restart", "depends_on", "stop_grace_period"):
        assert worker[key] == flowd[key], key  # the same image and lifecycle as the main node
    env, main_env = worker["environment"], flowd["environment"]
    for key in ("FLOWD_DATABASE_URL", "FLOWD_SOURCE", "FLOWD_REF", "FLOWD_PATH", "FLOWD_GIT_TOKEN"):
        assert env[key] == main_env[key], key  # one store, one source
    # several nodes need storage every node reads (a node on local storage is refused in a cluster)
    assert env["FLOWD_STORAGE"] == main_env["FLOWD_STORAGE"] == "database"
    roles = env["FLOWD_ROLE"].split(",")
    assert "webserver" not in roles and {"executor", "scheduler"} <= set(roles)
    assert worker["healthcheck"] == {"disable": True}
    fields = set(Settings.model_fields)
    for key in env:
        assert key.startswith("FLOWD_") and key[len("FLOWD_") :].lower() in fields, key


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/", "$")):
                if source.startswith("./"):
                    assert (ROOT / source).exists(), f"{name}: bind source {source} does not exist"
                continue
            assert source in declared, f"{name}: volume {source} is not declared"


def test_postgres(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    env = postgres["environment"]
    assert env["POSTGRES_USER"] == "flowd" and env["POSTGRES_DB"] == "flowd"
    assert env["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-flowd}"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])


def test_flowd_service(compose: dict[str, Any]) -> None:
    flowd = compose["services"]["flowd"]
    postgres_env = compose["services"]["postgres"]["environment"]
    assert flowd["build"] == "."
    assert flowd["command"] in (["run"], "run")
    assert flowd["restart"] == "unless-stopped"
    assert flowd["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = flowd["environment"]
    url = env["FLOWD_DATABASE_URL"]
    assert url == (
        f"postgresql://{postgres_env['POSTGRES_USER']}:${{POSTGRES_PASSWORD:-flowd}}"
        f"@postgres:5432/{postgres_env['POSTGRES_DB']}"
    )
    assert env["FLOWD_SOURCE"] == "${FLOWD_SOURCE:-/flows}"
    assert "./flows-repo-template/flows:/flows:ro" in flowd["volumes"]
    assert env["FLOWD_LISTEN"] == "0.0.0.0:8080"
    assert any(str(port).endswith(":8080") for port in flowd["ports"])
    # every FLOWD_ variable names a real setting
    fields = set(Settings.model_fields)
    for key in env:
        assert key.startswith("FLOWD_") and key[len("FLOWD_") :].lower() in fields, key


def test_flowd_health_check_uses_the_api_without_curl(compose: dict[str, Any]) -> None:
    test = compose["services"]["flowd"]["healthcheck"]["test"]
    command = " ".join(test)
    assert "/api/health" in command and "urllib" in command and "curl" not in command
    assert test[:2] == ["CMD", "python"]


def test_docker_socket_is_not_mounted_by_default(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["flowd"]["volumes"]
    assert not any("docker.sock" in v for v in volumes)
    assert "root-equivalent" in COMPOSE.read_text()


def test_dockerfile() -> None:
    instructions = dockerfile_instructions()
    words = dict(instructions)  # last one wins, like Docker
    assert words["FROM"].startswith("python:3.11-slim")
    assert any(word == "RUN" and "pip install ." in args for word, args in instructions)
    user = words["USER"].split(":")[0]
    assert user not in ("", "root", "0")
    assert words["ENTRYPOINT"] == '["flowd"]'
    assert words["CMD"] == '["run"]'
    assert "8080" in words["EXPOSE"].split()
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "FLOWD_HOME=/var/lib/flowd" in env


def test_compose_user_matches_the_image(compose: dict[str, Any]) -> None:
    uid = compose["services"]["flowd"]["user"].split(":")[0]
    assert f"--uid {uid}" in DOCKERFILE.read_text()


def test_dockerignore_keeps_what_pip_needs() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")
    }
    for needed in ("daemon", "pyproject.toml", "README.md"):
        assert needed not in ignored


def test_matches_the_compose_specification() -> None:
    # check-jsonschema ships the compose-spec schema, so this works offline and without docker.
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_config() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("`docker compose` is not available (no compose plugin)")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
