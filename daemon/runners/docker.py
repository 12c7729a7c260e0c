"""Run a script in a Docker container (docker SDK; its blocking calls run in threads).

The task's workdir is bind-mounted at the **same absolute path** inside the container and is the container's
working directory, so input files, output files and any path the engine rendered into the command mean the
same thing on both sides. (When flowd itself runs in a container and talks to the host's engine, bind
sources are host paths: mount FLOWD_HOME at the same path on the host for this to hold.)

``argv`` replaces the image's entrypoint and command alike, so it runs exactly as given. Every container
carries the label ``flowd.managed=true`` plus the spec's labels and its creator's host name and process id
(``flowd.host``, ``flowd.pid``); it is removed when the run ends, however it ends, and ``cleanup_orphans``
removes any that a crashed process left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from requests.exceptions import RequestException

from daemon.errors import TaskError
from daemon.runners.docker_engine import ClientFactory, connect, engine_failure
from daemon.runners.docker_images import ensure_image
from daemon.runners.limits import memory_bytes, nano_cpus
from daemon.runners.lines import LineSink, LineSplitter
from daemon.runners.spec import LineHandler, RunResult, ScriptSpec

MANAGED_LABEL = "flowd.managed"
HOST_LABEL = "flowd.host"
PID_LABEL = "flowd.pid"
T = TypeVar("T")


class DockerRunner:
    """Runs each script attempt in a fresh container, streaming stdout and stderr separately.

    On timeout or cancel the container gets SIGTERM, then SIGKILL after ``grace`` seconds (``docker stop``),
    and is removed. The timeout counts from the container's start (pulling the image is not included).
    """

    def __init__(self, *, grace: float = 3.0, client_factory: ClientFactory = docker.from_env) -> None:
        self._grace = grace
        self._client_factory = client_factory

    async def run(self, spec: ScriptSpec, *, on_line: LineHandler, cancelled: asyncio.Event) -> RunResult:
        """Pull (per policy), create and follow a container until it exits, times out or is cancelled."""
        if not spec.image:
            raise TaskError("docker: no image given (set containerImage or the task runner's image)")
        if not spec.argv:
            raise TaskError("docker: empty command")
        if cancelled.is_set():
            return RunResult(exit_code=None, outputs={}, killed=True)
        client = await asyncio.to_thread(connect, self._client_factory)
        try:
            await asyncio.to_thread(ensure_image, client, spec.image, spec.pull_policy, spec.credentials)
            container = await _guarded(asyncio.to_thread(create_container, client, spec), _remove)
            try:
                return await self._follow(container, spec, on_line, cancelled)
            finally:
                # Shielded: a cancelled run still removes its container.
                await asyncio.shield(asyncio.to_thread(_remove, container))
        finally:
            client.close()

    async def _follow(
        self, container: Container, spec: ScriptSpec, on_line: LineHandler, cancelled: asyncio.Event
    ) -> RunResult:
        sink = LineSink(on_line)
        splitters = {name: LineSplitter(name, sink) for name in ("stdout", "stderr")}
        try:
            await asyncio.to_thread(container.start)
        except (DockerException, RequestException) as exc:
            raise engine_failure(f"cannot start a container of image '{spec.image}'", exc) from exc
        loop = asyncio.get_running_loop()

        def pump(name: str) -> None:
            # In a worker thread: hand chunks to the event loop, where the splitter and on_line live.
            logs = container.logs(stdout=name == "stdout", stderr=name == "stderr", stream=True, follow=True)
            # RuntimeError: the loop closed under us (the run was abandoned); nobody wants the rest.
            with contextlib.suppress(DockerException, RequestException, RuntimeError):
                for chunk in logs:
                    loop.call_soon_threadsafe(splitters[name].feed, chunk)

        followers = [asyncio.ensure_future(asyncio.to_thread(pump, name)) for name in splitters]
        exited = asyncio.ensure_future(asyncio.to_thread(container.wait))
        cancel = asyncio.ensure_future(cancelled.wait())
        timed_out = killed = False
        try:
            done, _ = await asyncio.wait(
                {exited, cancel}, timeout=spec.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if exited not in done:
                killed = True
                timed_out = cancel not in done
                with contextlib.suppress(DockerException, RequestException):
                    await asyncio.to_thread(container.stop, timeout=max(1, round(self._grace)))
            try:
                status: dict[str, Any] = await exited
            except (DockerException, RequestException) as exc:
                raise engine_failure("lost the container while waiting for it", exc) from exc
            # The log streams end with the container; a dead engine connection must not hang us.
            await asyncio.wait(followers, timeout=10)
        finally:
            cancel.cancel()
        for splitter in splitters.values():
            splitter.close()
        return RunResult(
            exit_code=status.get("StatusCode"),
            outputs=sink.outputs,
            timed_out=timed_out,
            killed=killed,
            metrics=sink.metrics,
        )


def create_container(client: docker.DockerClient, spec: ScriptSpec) -> Container:
    """Create (not start) the container for ``spec``."""
    assert spec.image is not None
    workdir = str(spec.workdir.resolve())
    options: dict[str, Any] = {
        "entrypoint": spec.argv[:1],
        "command": spec.argv[1:],
        "working_dir": workdir,
        "environment": dict(spec.env),
        "labels": {**spec.labels, **owner_labels(), MANAGED_LABEL: "true"},
        "volumes": [f"{workdir}:{workdir}:rw", *spec.volumes],
        "network_mode": spec.network_mode or default_network_mode(client),
        "detach": True,
        "tty": False,
        "stdin_open": False,
    }
    if spec.user:
        options["user"] = spec.user
    if spec.cpu is not None:
        options["nano_cpus"] = nano_cpus(spec.cpu)
    if spec.memory:
        options["mem_limit"] = memory_bytes(spec.memory)
    try:
        return client.containers.create(spec.image, **options)
    except (DockerException, RequestException) as exc:
        raise engine_failure(f"cannot create a container of image '{spec.image}'", exc) from exc


def default_network_mode(client: docker.DockerClient) -> str:
    """The engine's "bridge" network when it has one, else "none" (an engine run with ``--bridge=none``)."""
    try:
        networks = client.networks.list(names=["bridge"])
    except (DockerException, RequestException) as exc:
        raise engine_failure("cannot list networks", exc) from exc
    return "bridge" if any(net.name == "bridge" for net in networks) else "none"


def owner_labels() -> dict[str, str]:
    """Labels naming the process that creates a container, so another process can tell if it is gone."""
    return {HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())}


def cleanup_orphans(client: docker.DockerClient, keep: Collection[str] = frozenset()) -> int:
    """Remove containers labelled ``flowd.managed=true`` whose creator is gone; returns how many were removed.

    The daemon calls it at start-up, when no container of its own can be running. Several flowd processes
    may share one engine (daemons on other databases, ``flowd execute --local``, tests): a container whose
    creator still runs on this host is theirs and stays. ``keep`` spares more containers by id (full or
    short), name, or the value of their ``flowd.execution`` / ``flowd.taskrun`` label.
    """
    removed = 0
    # ignore_removed: another process may remove a container while the list inspects each one
    managed = client.containers.list(
        all=True, filters={"label": f"{MANAGED_LABEL}=true"}, ignore_removed=True
    )
    for container in managed:
        labels = container.labels or {}
        names = {
            container.id,
            container.short_id,
            container.name,
            labels.get("flowd.execution"),
            labels.get("flowd.taskrun"),
        }
        if names & set(keep) or _creator_alive(labels):
            continue
        with contextlib.suppress(NotFound):
            container.remove(force=True)
            removed += 1
    return removed


def _creator_alive(labels: dict[str, str]) -> bool:
    """Whether another live process on this host created the container (unknown creators count as gone)."""
    pid = labels.get(PID_LABEL, "")
    if labels.get(HOST_LABEL) != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def _remove(container: Container) -> None:
    with contextlib.suppress(NotFound, DockerException, RequestException):
        container.remove(force=True)


async def _guarded(work: Awaitable[T], undo: Callable[[T], None]) -> T:
    """Await ``work`` (a thread call creating something); if we are cancelled meanwhile, undo its result."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(undo, await task)
        raise
