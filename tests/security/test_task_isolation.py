"""A script task cannot read the daemon's secrets through /proc, whatever path of its ancestors it tries.

The daemon runs as a real subprocess with secrets in its environment; a shell task walks up its ancestors
and reads environ, cmdline, maps, status and mem (every readable mapped region, searching it). None of the
secret values, nor their base64 forms, may appear in the stored logs or outputs.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from daemon.engine.states import is_terminal
from daemon.store import Store
from tests.server.daemon_harness import DaemonProcess, wait_for

pytestmark = pytest.mark.integration

PROBE = r"""
import os, re, sys
pid = os.getppid()
seen = 0
while pid > 1:
    for name in ("environ", "cmdline", "maps", "status", "mem", "fd/0"):
        path = f"/proc/{pid}/{name}"
        try:
            if name == "mem":
                found = []
                with open(f"/proc/{pid}/maps") as maps, open(path, "rb", buffering=0) as mem:
                    for row in maps:
                        start, end = (int(x, 16) for x in row.split()[0].split("-"))
                        if "r" not in row.split()[1] or end - start > 256 * 1024 * 1024:
                            continue
                        try:
                            mem.seek(start)
                            chunk = mem.read(end - start)
                        except OSError:
                            continue
                        for m in re.finditer(rb"(tok|hook|plain|b64)-[0-9a-f]{16}", chunk):
                            found.append(m.group().decode())
                print(f"read {path}: {sorted(set(found))}")
            else:
                with open(path, "rb") as f:
                    data = f.read(1 << 20)
                print(f"read {path}: {data.replace(bytes(1), bytes([10])).decode(errors='replace')}")
            seen += 1
        except OSError as exc:
            print(f"cannot read {path}: {exc.strerror}")
    with open(f"/proc/{pid}/stat") as stat:
        pid = int(stat.read().rsplit(")", 1)[1].split()[1])
print(f"probe done, {seen} files read")
"""

FLOW = """
id: probe
namespace: sec
tasks:
  - id: probe
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - tr '\\0' '\\n' < /proc/$PPID/environ || echo no environ
      - cat /proc/$PPID/cmdline || echo no cmdline
      - python3 probe.py
    inputFiles:
      probe.py: |
{probe}
"""


@pytest.fixture
def open_home() -> Iterator[Path]:
    # a home the task user can traverse (pytest's tmp folders are 0700)
    home = Path(tempfile.mkdtemp(prefix="flowd-sec-", dir="/tmp"))
    home.chmod(0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_a_task_reads_none_of_the_daemons_secrets(open_home: Path, db_url: str, store: Store) -> None:
    values = {name: f"{name}-{secrets.token_hex(8)}" for name in ("tok", "hook", "plain", "b64")}
    env = {
        "FLOWD_API_TOKEN": values["tok"],
        "FLOWD_WEBHOOK_SECRET": values["hook"],
        "FLOWD_SECRET_PLAIN": values["plain"],
        "SECRET_B64": base64.b64encode(values["b64"].encode()).decode(),
    }
    url = make_url(db_url)
    if url.drivername.startswith("postgresql"):  # trust authentication ignores the password
        password = f"pw-{secrets.token_hex(8)}"
        db_url = url.set(password=password).render_as_string(hide_password=False)
        values["db"] = password
    if os.geteuid() == 0:  # root reads any /proc file: tasks must run as another user
        env["FLOWD_TASK_USER"] = "nobody"
    flows = open_home / "flows"
    flows.mkdir()
    probe = "\n".join(" " * 8 + line for line in PROBE.strip().splitlines())
    (flows / "probe.yml").write_text(FLOW.format(probe=probe))
    (open_home / "home").mkdir(mode=0o755)
    daemon = DaemonProcess(source=flows, db_url=db_url, home=open_home / "home", env=env)
    try:
        # root itself reads the daemon's initial environment: the re-exec left no secret in it
        initial = Path(f"/proc/{daemon.proc.pid}/environ").read_bytes()
        assert not any(v.encode() in initial for v in values.values())
        assert env["SECRET_B64"].encode() not in initial

        wait_for(lambda: store.flows.get("sec", "probe"), "the flow to deploy")
        headers = {"Authorization": f"Bearer {values['tok']}"}
        created = httpx.post(f"http://127.0.0.1:{daemon.port}/api/v1/executions/sec/probe", headers=headers)
        assert created.status_code == 200, created.text
        execution_id = created.json()["id"]
        done = wait_for(
            lambda: (e := store.executions.get(execution_id)) is not None and is_terminal(e.state) and e,
            "the probe to end",
            timeout=90,
        )
    finally:
        daemon.stop()
    logs = "\n".join(line.message for line in store.logs.for_execution(execution_id))
    runs = store.executions.list_task_runs(execution_id)
    stored = logs + json.dumps([r.outputs for r in runs], default=str) + json.dumps(done.outputs, default=str)
    assert "probe done" in logs, logs[-2000:]  # the probe really ran
    assert f"/proc/{daemon.proc.pid}/environ" in logs  # and tried the daemon's files
    for name, value in values.items():
        assert value not in stored, f"{name} leaked"
        for form in (
            base64.b64encode(value.encode()).decode(),
            base64.urlsafe_b64encode(value.encode()).decode(),
        ):
            assert form.rstrip("=") not in stored, f"{name} leaked in base64"
