"""The peers: Prefect 3, Dagster, Apache Airflow 3, each in its own virtual environment under the cache.

An environment is created and installed from PyPI once and reused while its requirements are unchanged
(a stamp file records them). A failed install is reported as a note and that peer is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent.parent / "peers"


@dataclass(frozen=True)
class Peer:
    """One peer orchestrator."""

    name: str
    label: str
    distribution: str  # whose version the report shows
    requirements: tuple[str, ...]
    script: str

    def python(self, cache: Path) -> Path:
        """The Python of this peer's virtual environment."""
        return cache / "venvs" / self.name / "bin" / "python"

    def home(self, cache: Path) -> Path:
        """This peer's home folder (its metadata database lives there)."""
        return cache / "homes" / self.name

    def env(self, cache: Path, ts_file: Path) -> dict[str, str]:
        """The environment of a run: its home, the timestamp file, telemetry off (only 127.0.0.1 is used)."""
        home = self.home(cache)
        env = dict(os.environ)
        env.update(
            BENCH_TS_FILE=str(ts_file),
            PREFECT_HOME=str(home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            DAGSTER_HOME=str(home),
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__USAGE_DATA_COLLECTION__ENABLED="False",
            SCARF_ANALYTICS="false",
        )
        env.pop("PREFECT_API_URL", None)  # ephemeral local server, never a configured one
        return env

    def argv(self, cache: Path, workload: str, *, n: int = 0, folder: Path | None = None) -> list[str]:
        """The command running ``workload`` of this peer's script."""
        argv = [str(self.python(cache)), str(PEERS_DIR / self.script), workload, "--n", str(n)]
        return [*argv, "--dir", str(folder)] if folder else argv


PEERS: tuple[Peer, ...] = (
    # Prefect 3.8 still passes pydantic-v1 ``min_items`` to FastAPI's Body(), which newer FastAPI rejects.
    # The PostgreSQL drivers serve the production mode (bench/prod_bench.py): Prefect's server uses asyncpg,
    # Dagster's storage dagster-postgres (psycopg2), Airflow's metadata database psycopg2 and asyncpg.
    Peer("prefect", "Prefect", "prefect", ("prefect>=3,<4", "fastapi>=0.139,<0.140", "asyncpg"),
         "prefect_bench.py"),
    # dagster-postgres releases pin the dagster of the same release: left free, pip falls back to an old
    # dagster-postgres (0.11) when the newest dagster has no dagster-postgres yet. One release for all three.
    Peer("dagster", "Dagster", "dagster",
         ("dagster==1.13.27", "dagster-webserver==1.13.27", "dagster-postgres==0.29.27",
          "psycopg2-binary>=2.9"),
         "dagster_bench.py"),
    Peer("airflow", "Airflow", "apache-airflow", ("apache-airflow>=3,<4", "psycopg2-binary", "asyncpg"),
         "airflow_bench.py"),
)  # fmt: skip


def ensure_installed(peer: Peer, cache: Path, log: Path) -> str | None:
    """Create/reuse the peer's environment; None when ready, else why it is skipped."""
    python = peer.python(cache)
    stamp = python.parent.parent / ".bench-installed"
    wanted = json.dumps(list(peer.requirements))
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return None
    log.parent.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(python.parent.parent)
    with log.open("w") as out:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *peer.requirements],
            stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        return f"pip install {' '.join(peer.requirements)} failed (exit {done.returncode}); see {log}"
    stamp.write_text(wanted)
    return None


def version(peer: Peer, cache: Path) -> str:
    """The installed version of the peer's distribution."""
    code = f"import importlib.metadata as m; print(m.version({peer.distribution!r}))"
    done = subprocess.run([str(peer.python(cache)), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def python_version(peer: Peer, cache: Path) -> str:
    """The Python version of the peer's environment."""
    code = "import platform; print(platform.python_version())"
    done = subprocess.run([str(peer.python(cache)), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or sys.version.split()[0]
