"""Keeping the daemon's secrets out of reach of the script tasks it starts.

A task runs as a child of the daemon, by default as the same user. Without care it can read the daemon's
``/proc/<pid>/environ`` (the API token, the webhook secret, the database URL with its password, every
``SECRET_*``) and ``/proc/<pid>/mem``. ``flowd run`` therefore, before reading its configuration:

1. **re-executes itself without the secrets in its environment** (``reexec_without_secrets``):
   ``/proc/<pid>/environ`` shows the environment a process was *started* with, whatever it later removes,
   so the secret variables are written to an anonymous memory file (``memfd``) and the daemon execs itself
   again with a cleaned environment and ``FLOWD_SECRETS_FD`` naming that file. The new image reads the
   secrets back (``restore_secrets``), closes the file, and the same PID goes on;
2. **marks itself non-dumpable** (``prctl(PR_SET_DUMPABLE, 0)``): its ``/proc/<pid>/`` files (environ, mem,
   maps, fd, ...) then belong to root and ptrace is refused, so a task running as the same non-root user
   can read none of them. Children get a dumpable state again at ``execve``, so this costs them nothing;
3. once the services are built, **removes the secrets from ``os.environ``** (``scrub_environ``), so no
   subprocess started later inherits them.

Root is not stopped by (2): a daemon running as root should run its tasks as an unprivileged user
(``FLOWD_TASK_USER``, ``task_user_ids``). Set ``FLOWD_PROCESS_HARDENING=false`` to skip (1) and (2).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

FD_VARIABLE = "FLOWD_SECRETS_FD"
SWITCH = "FLOWD_PROCESS_HARDENING"
_PLAIN_SECRETS = frozenset(
    {"FLOWD_API_TOKEN", "FLOWD_WEBHOOK_SECRET", "FLOWD_DATABASE_URL", "FLOWD_GIT_TOKEN", "FLOWD_GIT_SSH_KEY"}
)
_PREFIXES = ("SECRET_", "FLOWD_SECRET_")
_PR_SET_DUMPABLE = 4


def is_secret_name(name: str) -> bool:
    """Whether an environment variable holds a secret the daemon must not leak to its tasks."""
    return name in _PLAIN_SECRETS or name.startswith(_PREFIXES)


def secret_items(environ: Mapping[str, str]) -> dict[str, str]:
    """The secret variables of ``environ``."""
    return {k: v for k, v in environ.items() if is_secret_name(k)}


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether hardening is on (``FLOWD_PROCESS_HARDENING``, default true)."""
    return environ.get(SWITCH, "true").strip().lower() not in ("0", "false", "no", "off")


def harden_process() -> None:
    """Everything ``flowd run`` does before reading its settings: re-exec without secrets in the initial
    environment (never returns when it does), read them back, and become non-dumpable."""
    if not enabled(os.environ):
        return
    if FD_VARIABLE in os.environ:
        restore_secrets()  # this is the re-executed image
    else:
        reexec_without_secrets()
    if not make_non_dumpable():
        log.warning("could not mark the daemon non-dumpable: tasks may read its /proc files")


def reexec_without_secrets() -> None:
    """Exec this same command again with the secret variables moved out of the environment into an
    inherited memory file. Does nothing when there are none, or off Linux (no memfd)."""
    secrets = secret_items(os.environ)
    if not secrets or not hasattr(os, "memfd_create") or not sys.orig_argv:
        return
    fd = os.memfd_create("flowd-secrets", 0)
    os.set_inheritable(fd, True)  # the new image must inherit it
    os.write(fd, json.dumps(secrets).encode())
    os.lseek(fd, 0, os.SEEK_SET)
    env = {k: v for k, v in os.environ.items() if not is_secret_name(k)}
    env[FD_VARIABLE] = str(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, env)


def restore_secrets() -> None:
    """In the re-executed image: read the secrets from ``FLOWD_SECRETS_FD`` into ``os.environ`` (where the
    settings and the executor read them; ``/proc/<pid>/environ`` does not show what is added later)."""
    fd_text = os.environ.pop(FD_VARIABLE, None)
    if fd_text is None:
        return
    fd = int(fd_text)
    with os.fdopen(fd, "rb") as secrets_file:
        secrets = json.loads(secrets_file.read() or b"{}")
    os.environ.update({str(k): str(v) for k, v in secrets.items()})


def scrub_environ() -> int:
    """Remove the secret variables from ``os.environ`` (they live on in the settings and the executor);
    returns how many."""
    names = [k for k in os.environ if is_secret_name(k)]
    for name in names:
        del os.environ[name]
    return len(names)


def make_non_dumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)`` on Linux; False when it cannot be done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def is_dumpable() -> bool | None:
    """``prctl(PR_GET_DUMPABLE)``: whether this process is dumpable (None off Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(3, 0, 0, 0, 0))
