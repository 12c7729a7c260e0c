"""Running script tasks as an unprivileged user (``FLOWD_TASK_USER``) when the daemon runs as root.

Root reads any process's ``/proc`` files, non-dumpable or not; a task running as another, unprivileged
user reads none of the daemon's. The task's working folder is handed to that user before it starts, and
``FLOWD_HOME`` must be traversable by it (mode 0755 or a group it is in).
"""

from __future__ import annotations

import logging
import os
import pwd
from pathlib import Path

log = logging.getLogger(__name__)

_ids: tuple[int, int] | None = None


def configure(name: str | None) -> None:
    """Run tasks as ``name`` (a user name or uid) from now on; None runs them as the daemon's user.
    Only root may switch users: otherwise the setting is ignored with a warning."""
    global _ids
    _ids = None
    if not name:
        return
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        raise ValueError(f"FLOWD_TASK_USER '{name}' is not a user of this system") from None
    if os.geteuid() != 0:
        if entry.pw_uid != os.geteuid():
            log.warning("FLOWD_TASK_USER=%s ignored: only a daemon running as root can switch users", name)
        return
    _ids = (entry.pw_uid, entry.pw_gid)


def task_ids() -> tuple[int, int] | None:
    """The (uid, gid) tasks run as, or None for the daemon's own user."""
    return _ids


def hand_over(folder: Path, ids: tuple[int, int]) -> None:
    """Give ``folder`` and everything in it to the task user."""
    uid, gid = ids
    os.chown(folder, uid, gid)
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
