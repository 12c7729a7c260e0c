"""W6 and W7, flowd only: the daemon (``flowd run``) as a subprocess listening on 127.0.0.1.

W6: a commit to a local Git repository adds a flow with a per-second schedule, ``POST /api/v1/sync`` is
called, and the first execution's creation date (from the store) is compared with the moment of the call.
W7: 1,000 flows scheduled every minute; lateness = execution creation (``executions.start_date``) minus the
tick's scheduled date (``schedule_ticks``), and the daemon's CPU while idle between ticks (utime + stime of
``/proc/<pid>/stat`` over a window).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from harness import flowgen
from harness.flowd_work import _fresh, flowd_argv, flowd_env
from harness.measure import tree_rss_kb
from harness.stats import percentile

Metrics = dict[str, float]
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (its threads included) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


@contextmanager
def daemon(home: Path, source: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``flowd run`` on ``source``, up (health answers) when the body runs; SIGTERM at the end."""
    argv = [*flowd_argv(), "run", "--source", source, "--listen", f"127.0.0.1:{port}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=flowd_env(home), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"flowd run exited {proc.returncode}: {log.read_text()[-1500:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("flowd run did not answer /api/health within 60 s")
                time.sleep(0.05)
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _engine(home: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{home / 'flowd.db'}")


def _epoch(value: datetime | str) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _git(repo: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def w6_push(work: Path) -> Metrics:
    """W6: commit + push hook -> first execution of the new flow's per-second schedule."""
    repo, home = _fresh(work, "push")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "base.yml").write_text(flowgen.chain(1, flow_id="base"))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    port = free_port()
    with daemon(home, repo.as_uri(), port, work / "push" / "daemon.log") as proc:
        (repo / "pushed.yml").write_text(flowgen.scheduled("pushed", cron="* * * * * *", with_seconds=True))
        _git(repo, "add", ".")
        _git(repo, "commit", "-q", "-m", "add pushed")
        t0 = time.time()
        response = httpx.post(f"http://127.0.0.1:{port}/api/v1/sync", timeout=30)
        sync_s = time.time() - t0
        response.raise_for_status()
        engine = _engine(home)
        query = sa.text("SELECT MIN(start_date) FROM executions WHERE flow_id = 'pushed'")
        deadline = time.monotonic() + 30
        first = None
        while first is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                first = conn.execute(query).scalar()
            if first is None:
                time.sleep(0.01)
        engine.dispose()
        peak_mb = tree_rss_kb(proc.pid) / 1024
    if first is None:
        raise RuntimeError("no execution of the pushed flow within 30 s")
    return {"first_execution_s": _epoch(first) - t0, "sync_call_s": sync_s, "peak_mb": peak_mb}


def _ticks(engine: sa.Engine) -> list[tuple[float, float]]:
    query = sa.text(
        "SELECT t.scheduled_date, e.start_date FROM schedule_ticks t"
        " JOIN executions e ON e.id = t.execution_id"
    )
    with engine.connect() as conn:
        return [(_epoch(a), _epoch(b)) for a, b in conn.execute(query)]


def _wait_until(epoch_s: float) -> None:
    while (left := epoch_s - time.time()) > 0:
        time.sleep(min(left, 1.0))


def w7_many_schedules(work: Path, n: int, *, per_second: bool = False) -> Metrics:
    """W7: ``n`` flows each on a per-minute schedule (``per_second``: every second, the quick variant)."""
    flows, home = _fresh(work, "schedules")
    cron = "* * * * * *" if per_second else "* * * * *"
    for i in range(n):
        (flows / f"s{i}.yml").write_text(flowgen.scheduled(f"s{i}", cron=cron, with_seconds=per_second))
    period = 1.0 if per_second else 60.0
    with daemon(home, str(flows), free_port(), work / "schedules" / "daemon.log") as proc:
        engine = _engine(home)
        started = time.time()
        first_tick = (int(started / period) + 1) * period  # the first boundary after start
        # let the first tick fire and its executions finish, then measure an idle window before the next
        idle_from = first_tick + (0.3 if per_second else 20.0)
        idle_to = first_tick + (0.8 if per_second else 55.0)
        _wait_until(idle_from)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        _wait_until(idle_to)
        idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
        _wait_until(first_tick + period + (2.0 if per_second else 10.0))  # the second tick and some margin
        peak_mb = tree_rss_kb(proc.pid) / 1024
        ticks = _ticks(engine)
        engine.dispose()
    late = [(created - scheduled) * 1000 for scheduled, created in ticks if scheduled >= first_tick - period]
    if not late:
        raise RuntimeError("no schedule tick fired")
    return {"late_median_ms": percentile(late, 50), "late_p99_ms": percentile(late, 99), "ticks": len(late),
            "idle_cpu_pct": idle_cpu * 100, "peak_mb": peak_mb}  # fmt: skip
