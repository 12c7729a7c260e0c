"""The production setting's shared parts: a PostgreSQL database per run, the daemons' process trees, and the
``System`` each orchestrator adapter implements (start its servers, submit a run through its API, read which
runs have ended from its own database, say when a run's first task started)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from harness.measure import tree_rss_kb

PG_HOST = "127.0.0.1:5432"
PG_ROLES = ("postgres", "root")


def pg_url(database: str, *, role: str = "postgres", driver: str = "postgresql") -> str:
    """A URL of ``database`` on 127.0.0.1:5432 (trust authentication)."""
    return f"{driver}://{role}@{PG_HOST}/{database}"


def admin_role() -> str:
    """The superuser role that answers on 127.0.0.1:5432 (``postgres``, else ``root``)."""
    for role in PG_ROLES:
        try:
            psycopg.connect(pg_url("postgres", role=role), connect_timeout=3).close()
            return role
        except psycopg.Error:
            continue
    raise RuntimeError(f"no PostgreSQL superuser ({', '.join(PG_ROLES)}) answers on {PG_HOST}")


@dataclass
class Database:
    """A database created for one system's run and dropped after it."""

    name: str
    role: str

    @classmethod
    def create(cls, system: str) -> Database:
        """``CREATE DATABASE bench_<system>_<random>``."""
        role = admin_role()
        name = f"bench_{system}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_url("postgres", role=role), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return cls(name, role)

    def url(self, driver: str = "postgresql") -> str:
        """This database's URL with ``driver``."""
        return pg_url(self.name, role=self.role, driver=driver)

    def rows(self, query: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """The rows ``query`` returns (a short-lived connection: the harness holds none between polls)."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            return list(conn.execute(query, params).fetchall())  # type: ignore[arg-type]

    def drop(self) -> None:
        """``DROP DATABASE ... WITH (FORCE)`` (the daemons' leftover connections are ended)."""
        with psycopg.connect(pg_url("postgres", role=self.role), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


@dataclass
class Processes:
    """The long-lived processes of one system (servers, schedulers, workers), each in its own session so
    that stopping it stops its children too."""

    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> None:
        """Start ``argv``; its output goes to ``logs/<name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        out = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.procs.append(proc)

    def check(self) -> None:
        """Raise when one of the processes has exited (with the tail of its log)."""
        for proc in self.procs:
            if proc.poll() is not None:
                argv = proc.args if isinstance(proc.args, list) else [str(proc.args)]
                raise RuntimeError(
                    f"{' '.join(map(str, argv[:3]))} exited {proc.returncode}; see {self.logs}"
                )

    def rss_mb(self) -> float:
        """The summed RSS of every process tree."""
        return sum(tree_rss_kb(p.pid) for p in self.procs) / 1024

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM each process group, SIGKILL what is left after ``grace`` seconds."""
        for proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def wait_for(what: str, ready: object, processes: Processes, timeout: float = 180.0) -> None:
    """Poll ``ready()`` (exceptions count as not ready) until it is true; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check()
        try:
            if ready():  # type: ignore[operator]
                return
        except Exception:  # not up yet: connection refused, 404 before start-up ends, ...
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready within {timeout:.0f} s; see {processes.logs}")


class System:
    """One orchestrator in its production-like local mode. Subclasses set ``name``/``label`` and implement
    ``start``, ``submit``, ``ended`` and ``first_task_started``."""

    name = ""
    label = ""
    settings: tuple[str, ...] = ()  # every setting used, for the results file

    def __init__(self, work: Path, port: int) -> None:
        self.work = work / self.name
        self.work.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.db = Database.create(self.name)
        self.processes = Processes(self.work / "logs")

    def start(self) -> None:
        """Start the servers (untimed); return once they take submissions."""
        raise NotImplementedError

    def submit(self, kind: str) -> str:
        """Create a run of ``kind`` (``one``: one no-op task; ``chain``: 20 × 100 ms sleeps) through the API;
        its id."""
        raise NotImplementedError

    def ended(self, run_ids: Iterable[str]) -> dict[str, str]:
        """Run id -> terminal state, for the runs of ``run_ids`` whose end is committed in the database."""
        raise NotImplementedError

    def first_task_started(self, run_id: str) -> float:
        """Epoch seconds at which the first task of the ended run ``run_id`` started running."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop every process and drop the database."""
        try:
            self.processes.stop()
        finally:
            self.db.drop()


class Peer(System):
    """A peer whose tasks write ``<run id> <start> <end>`` lines to ``ts_file`` and whose API is reached
    through an httpx ``client`` (set by ``start``)."""

    ts_file: Path

    def first_task_started(self, run_id: str) -> float:
        for line in self.ts_file.read_text().splitlines():
            name, start, _ = line.split()
            if name == run_id:
                return float(start)
        raise RuntimeError(f"no timestamp from inside a task of {self.label} run {run_id}")

    def stop(self) -> None:
        try:
            if hasattr(self, "client"):
                self.client.close()
        finally:
            super().stop()
