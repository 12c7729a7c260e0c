"""Virtual environments for Python script tasks' ``dependencies``: one per requirement set, built once.

An environment lives under ``<cache>/python-envs/<key>`` where ``key`` hashes the Python version and the
sorted requirement list, so every task (of any flow) asking for the same set shares it. The first task to need
it builds it under a file lock; the others wait on the lock and reuse it. ``uv`` (the PyPI package) builds it
when installed, else ``python -m venv`` and pip. Package indexes come from the daemon's environment
(``UV_INDEX_URL``/``UV_FIND_LINKS`` for uv, ``PIP_INDEX_URL``/``PIP_FIND_LINKS`` for pip).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from daemon.errors import TaskError

ENVS_DIR = "python-envs"
READY_MARK = ".flowd-ready"
LOCK_POLL_SECONDS = 0.2
# installer lines that say why an install failed, best first
_REASONS = ("No matching distribution", "not found", "unsatisfiable", "Could not", "error:", "ERROR:")


def env_key(dependencies: list[str], python_version: str | None) -> str:
    """The cache key of a requirement set: order and surrounding blanks do not matter."""
    normalized = sorted({" ".join(dep.split()) for dep in dependencies if dep.strip()})
    material = json.dumps({"python": python_version or "", "requirements": normalized})
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    """Where environments go when the daemon gives no cache folder (a plugin run by hand)."""
    return Path(tempfile.gettempdir()) / "flowd-cache"


def uv_binary() -> str | None:
    """The ``uv`` executable of the installed ``uv`` package, or one on PATH; None when there is none."""
    try:
        import uv  # type: ignore[import-not-found,unused-ignore]

        found: str = uv.find_uv_bin()
        return found
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _base_python(version: str | None) -> str:
    # pip's path needs an interpreter of the requested version on this machine
    if not version or sys.version.startswith(f"{version}.") or sys.version.split()[0] == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise TaskError(
            f"pythonVersion {version}: no python{version} on this machine "
            "(install flowd[uv] so uv can provide it)"
        )
    return found


async def _run(argv: list[str], log: Callable[[str, str], None]) -> tuple[int, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await proc.communicate()
    except asyncio.CancelledError:  # the task was cancelled or timed out: stop the installer too
        proc.kill()
        await proc.wait()
        raise
    lines = out.decode(errors="replace").splitlines()
    for line in lines:
        log("DEBUG", line)
    return proc.returncode or 0, lines


def _reason(lines: list[str]) -> str:
    """The one installer line that says why it failed (uv and pip both bury it in their output)."""
    for marker in _REASONS:
        for line in lines:
            if marker.lower() in line.lower():
                text = line.strip()
                for prefix in ("ERROR: ", "error: ", "╰─▶ ", "Caused by: ", "cause: "):
                    text = text.removeprefix(prefix)
                return text
    return lines[-1].strip() if lines else "no output"


async def _build(
    target: Path, dependencies: list[str], version: str | None, log: Callable[[str, str], None]
) -> None:
    uv = uv_binary()
    python = target / "bin" / "python"
    if uv is not None:
        steps = [
            [uv, "venv", "--quiet", "--python", version or sys.executable, str(target)],
            [uv, "pip", "install", "--python", str(python), *dependencies],
        ]
    else:
        steps = [
            [_base_python(version), "-m", "venv", str(target)],
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *dependencies],
        ]
    for argv in steps:
        code, lines = await _run(argv, log)
        if code != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise TaskError(
                f"Python dependencies {', '.join(dependencies)} could not be installed: {_reason(lines)}"
            )


async def _lock(path: Path) -> int:
    """An exclusive lock on ``path`` (its descriptor); polled, so a cancelled task never leaves it taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        try:
            await asyncio.sleep(LOCK_POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise


async def ensure_env(
    dependencies: list[str],
    python_version: str | None,
    *,
    cache_dir: Path,
    log: Callable[[str, str], None],
) -> Path:
    """The ``python`` of the environment holding ``dependencies``, built first when it is not cached."""
    key = env_key(dependencies, python_version)
    root = cache_dir / ENVS_DIR
    root.mkdir(parents=True, exist_ok=True)
    target = root / key
    python = target / "bin" / "python"
    if (target / READY_MARK).is_file():
        log("INFO", f"Python dependencies: using the cached environment {key}")
        return python
    # one builder per requirement set, across tasks and daemons sharing the folder
    fd = await _lock(root / f"{key}.lock")
    try:
        if (target / READY_MARK).is_file():
            log("INFO", f"Python dependencies: using the environment {key} another task built")
            return python
        shutil.rmtree(target, ignore_errors=True)  # a build that died half-way
        log("INFO", f"Python dependencies: building environment {key} with {', '.join(dependencies)}")
        await _build(target, dependencies, python_version, log)
        (target / READY_MARK).write_text(json.dumps({"requirements": dependencies, "python": python_version}))
        log("INFO", f"Python dependencies: environment {key} is ready")
        return python
    finally:
        os.close(fd)  # closing the descriptor releases the lock
