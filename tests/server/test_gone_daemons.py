"""Which daemons are gone: no beat for ``ALIVE_WITHIN``, or on this host a process that no longer exists
(or this very process under another id: an executor replaced after a failure); never this daemon itself."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

from daemon.server.heartbeat import ALIVE_WITHIN, gone_daemons
from daemon.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_gone_daemons(store: Store) -> None:
    old = T0 - ALIVE_WITHIN - timedelta(seconds=1)
    beats = {
        "me": ("here", os.getpid(), T0),
        "quiet-elsewhere": ("there", 1, old),  # no beat for too long
        "alive-elsewhere": ("there", 1, T0),  # another host: its pid says nothing here
        "exited-here": ("here", _exited_pid(), T0),  # beat recently, but its process is gone
        "replaced-here": ("here", os.getpid(), T0),  # this process under an earlier id
        "alive-here": ("here", os.getppid(), T0),
    }
    for daemon_id, (host, pid, seen) in beats.items():
        store.heartbeats.beat(daemon_id, host=host, pid=pid, started_at=old, now=seen)
    gone = gone_daemons(store, T0, me="me", host="here", pid=os.getpid())
    assert sorted(b.daemon_id for b in gone) == ["exited-here", "quiet-elsewhere", "replaced-here"]
