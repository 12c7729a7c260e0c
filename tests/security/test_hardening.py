"""The pieces of process hardening, each in a real subprocess (re-exec, non-dumpable, scrubbing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.security.hardening import is_secret_name, secret_items

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, os
from daemon.security.hardening import harden_process, is_dumpable, scrub_environ
harden_process()
with open("/proc/self/environ", "rb") as f:
    initial = f.read().decode(errors="replace")
seen = {k: os.environ.get(k) for k in ("FLOWD_API_TOKEN", "SECRET_X", "FLOWD_SECRET_Y", "KEEP")}
scrub_environ()
after = {k: os.environ.get(k) for k in ("FLOWD_API_TOKEN", "SECRET_X", "KEEP")}
print(json.dumps({"initial": initial, "seen": seen, "after": after, "dumpable": is_dumpable(),
                  "fd_var": os.environ.get("FLOWD_SECRETS_FD")}))
"""


def _child(extra: dict[str, str]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_secret_names() -> None:
    for name in (
        "FLOWD_API_TOKEN",
        "FLOWD_WEBHOOK_SECRET",
        "FLOWD_DATABASE_URL",
        "SECRET_A",
        "FLOWD_SECRET_B",
    ):
        assert is_secret_name(name)
    for name in ("PATH", "FLOWD_HOME", "FLOWD_LISTEN", "MY_SECRET"):
        assert not is_secret_name(name)
    assert secret_items({"SECRET_A": "1", "HOME": "/"}) == {"SECRET_A": "1"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and memfd are Linux's")
def test_reexec_hides_secrets_from_the_initial_environment() -> None:
    secrets = {"FLOWD_API_TOKEN": "tok-123456", "SECRET_X": "c2VjcmV0", "FLOWD_SECRET_Y": "yyy-999"}
    got = _child({**secrets, "KEEP": "1"})
    initial = str(got["initial"])
    assert "tok-123456" not in initial and "c2VjcmV0" not in initial and "yyy-999" not in initial
    assert "KEEP=1" in initial
    # the re-executed daemon still has them to build its settings, until it scrubs them
    assert got["seen"] == {**secrets, "KEEP": "1"}
    assert got["after"] == {"FLOWD_API_TOKEN": None, "SECRET_X": None, "KEEP": "1"}
    assert got["dumpable"] is False and got["fd_var"] is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_switch_turns_hardening_off() -> None:
    got = _child({"FLOWD_API_TOKEN": "tok-123456", "FLOWD_PROCESS_HARDENING": "false"})
    assert "tok-123456" in str(got["initial"]) and got["dumpable"] is True
