"""Make the task's image available according to its pull policy, with registry credentials if given."""

from __future__ import annotations

from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound
from docker.utils import parse_repository_tag
from requests.exceptions import RequestException

from daemon.errors import TaskError
from daemon.runners.docker_engine import engine_failure, one_line
from daemon.runners.spec import PULL_POLICIES

# Kestra's credential property names -> the Docker engine's auth config keys.
_AUTH_KEYS = {
    "username": "username",
    "password": "password",
    "registry": "serveraddress",
    "auth": "auth",
    "identityToken": "identitytoken",
    "registryToken": "registrytoken",
}


def auth_config(credentials: dict[str, Any] | None) -> dict[str, str] | None:
    """The engine's auth config for a pull, from Kestra-style ``credentials`` (None when there are none)."""
    if not credentials:
        return None
    auth = {out: str(credentials[key]) for key, out in _AUTH_KEYS.items() if credentials.get(key)}
    return auth or None


def ensure_image(
    client: docker.DockerClient, image: str, policy: str, credentials: dict[str, Any] | None
) -> None:
    """Pull ``image`` if the policy asks (ALWAYS, or IF_NOT_PRESENT and missing); TaskError if unusable."""
    policy = (policy or "IF_NOT_PRESENT").upper()
    if policy not in PULL_POLICIES:
        raise TaskError(
            f"docker: unknown pullPolicy '{policy}' (expected one of: {', '.join(PULL_POLICIES)})"
        )
    if policy != "ALWAYS":
        try:
            client.images.get(image)
            return
        except ImageNotFound:
            if policy == "NEVER":
                raise TaskError(
                    f"docker: image '{image}' not found locally and pullPolicy is NEVER"
                ) from None
        except (DockerException, RequestException) as exc:
            raise engine_failure(f"cannot inspect image '{image}'", exc) from exc
    pull(client, image, credentials)


def pull(client: docker.DockerClient, image: str, credentials: dict[str, Any] | None) -> None:
    """Pull one tag (never all tags) of ``image``; the engine's pull errors come back as a TaskError."""
    repository, tag = parse_repository_tag(image)
    try:
        # The high-level images.pull drops errors reported inside the progress stream; read it here.
        for event in client.api.pull(
            repository, tag=tag or "latest", stream=True, decode=True, auth_config=auth_config(credentials)
        ):
            if isinstance(event, dict) and event.get("error"):
                raise TaskError(f"docker: cannot pull image '{image}': {one_line(str(event['error']))}")
    except (DockerException, RequestException) as exc:
        raise engine_failure(f"cannot pull image '{image}'", exc) from exc
