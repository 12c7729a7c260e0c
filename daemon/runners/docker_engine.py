"""Reaching the Docker engine, and turning its failures into one clear line."""

from __future__ import annotations

import os
from collections.abc import Callable

import docker
from docker.errors import APIError, DockerException
from requests.exceptions import RequestException

from daemon.errors import TaskError

DEFAULT_HOST = "unix:///var/run/docker.sock"

ClientFactory = Callable[[], docker.DockerClient]


def engine_host() -> str:
    """The engine address the docker SDK will use (``DOCKER_HOST`` or the default socket)."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def connect(factory: ClientFactory = docker.from_env) -> docker.DockerClient:
    """A client for the engine; ``from_env`` asks the engine its API version, so this checks it answers."""
    try:
        return factory()
    except (DockerException, RequestException, OSError) as exc:
        raise unreachable(exc) from exc


def unreachable(exc: BaseException) -> TaskError:
    """The error for an engine that does not answer."""
    return TaskError(f"docker: cannot reach the Docker engine at {engine_host()}: {root_cause(exc)}")


def engine_failure(action: str, exc: BaseException) -> TaskError:
    """A TaskError for ``action`` failing: the engine's own explanation, or why it could not be reached."""
    # APIError is also a requests HTTPError: the engine answered, so test it first.
    if isinstance(exc, APIError):
        return TaskError(f"docker: {action}: {one_line(str(exc.explanation or exc))}")
    if isinstance(exc, RequestException):
        return unreachable(exc)
    return TaskError(f"docker: {action}: {one_line(str(exc))}")


def root_cause(exc: BaseException) -> str:
    """The innermost reason in an exception chain, e.g. "Connection refused" rather than a urllib3 repr."""
    seen: set[int] = set()
    current: BaseException | None = exc
    innermost = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        innermost = current
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        current = current.__cause__ or current.__context__
    # urllib3 may keep the OSError only in args: ('Connection aborted.', FileNotFoundError(...))
    for arg in getattr(innermost, "args", ()):
        if isinstance(arg, OSError) and arg.strerror:
            return arg.strerror
    return one_line(str(innermost))


def one_line(text: str) -> str:
    """Collapse a multi-line message into one line."""
    return " ".join(text.split())
