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
    # no default password: compose refuses to start until .env sets one
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
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
    user, db = postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_DB"]
    assert re.fullmatch(rf"postgresql://{user}:\$\{{POSTGRES_PASSWORD:\?[^}}]+\}}@postgres:5432/{db}", url), (
        url
    )
    assert env["FLOWD_SOURCE"] == "${FLOWD_SOURCE:-/flows}"
    assert "./flows-repo-template/flows:/flows:ro" in flowd["volumes"]
    assert env["FLOWD_LISTEN"] == "0.0.0.0:8080"
    assert any(str(port).endswith(":8080") for port in flowd["ports"])
    # every FLOWD_ variable names a real setting (FLOWD_SECRET_* and ENV_* are what flows read)
    fields = set(Settings.model_fields)
    for key in env:
        if key.startswith(("FLOWD_SECRET_", "ENV_")):
            continue
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
    # the project itself (with the extras the image ships: "pip install '.[duckdb,uv]'")
    assert any(word == "RUN" and re.search(r"pip install '?\.", args) for word, args in instructions)
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


# --- safe defaults -------------------------------------------------------------------------------------


def _interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` (ValueError where compose stops)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = environ.get(name, "")
        if op == ":?" and not current:
            raise ValueError(f"{name}: {arg}")
        if op == ":-" and not current:
            return arg
        return current

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:[?-])([^}]*))?\}", one, value)


def test_published_on_loopback_by_default(compose: dict[str, Any]) -> None:
    (port,) = compose["services"]["flowd"]["ports"]
    assert _interpolate(str(port), {}) == "127.0.0.1:8080:8080"
    assert _interpolate(str(port), {"FLOWD_PUBLISH_HOST": "0.0.0.0"}) == "0.0.0.0:8080:8080"


@pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "FLOWD_API_TOKEN"])
def test_compose_stops_without_the_required_secrets(compose: dict[str, Any], missing: str) -> None:
    environ = {"POSTGRES_PASSWORD": "pw", "FLOWD_API_TOKEN": "tok"}
    del environ[missing]
    values = [str(v) for service in compose["services"].values() for v in service["environment"].values()]
    with pytest.raises(ValueError, match=f"{missing}: set {missing} in .env"):
        for value in values:
            _interpolate(value, environ)


def test_the_daemon_starts_with_the_compose_environment(compose: dict[str, Any]) -> None:
    from daemon.server.process import split_listen
    from daemon.server.startup import StartupError, check_exposure

    environ = {"POSTGRES_PASSWORD": "pw", "FLOWD_API_TOKEN": "tok"}
    env = {k: _interpolate(str(v), environ) for k, v in compose["services"]["flowd"]["environment"].items()}
    host, _ = split_listen(env["FLOWD_LISTEN"])
    check_exposure(host, api_token=env["FLOWD_API_TOKEN"] or None, allow_anonymous=False)
    with pytest.raises(StartupError):  # the same listen address without the token would be refused
        check_exposure(host, api_token=None, allow_anonymous=False)


def test_template_flows_get_their_envs_and_secrets_under_compose(compose: dict[str, Any]) -> None:
    env = compose["services"]["flowd"]["environment"]
    postgres = compose["services"]["postgres"]["environment"]
    text = "\n".join(p.read_text() for p in (ROOT / "flows-repo-template" / "flows").rglob("*.y*ml"))
    envs = set(re.findall(r"envs\.([a-z0-9_]+)", text))
    secrets = set(re.findall(r"secret\('([A-Z0-9_]+)'\)", text))
    assert envs and secrets
    for name in envs:
        assert f"ENV_{name.upper()}" in env, name
    for name in secrets:
        assert f"FLOWD_SECRET_{name}" in env or f"SECRET_{name}" in env, name
    # the ETL flow loads into the compose PostgreSQL, as the user and with the password compose gives it
    assert "@postgres:5432/" not in env["ENV_PG_URL"] and "//postgres:5432/" in env["ENV_PG_URL"]
    assert env["ENV_PG_USER"].endswith(f"{postgres['POSTGRES_USER']}}}")
    assert env["FLOWD_SECRET_PG_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_deployment_docs_name_the_required_step() -> None:
    readme = (ROOT / "README.md").read_text()
    deploy = readme.split("## Deploy with Docker Compose", 1)[1].split("\n## ", 1)[0]
    docs = (ROOT / "docs" / "deployment.md").read_text()
    for text in (deploy, docs):
        assert "POSTGRES_PASSWORD" in text and "FLOWD_API_TOKEN" in text and ".env" in text
        assert "127.0.0.1" in text
