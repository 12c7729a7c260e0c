"""``bench/prod_bench.py --quick``: flowd's daemon on a fresh PostgreSQL database, runs submitted through its
HTTP API, P1-P4 printed (figures only, nothing about speed); the database is dropped afterwards."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_quick_prod_run_prints_p1_to_p4(tmp_path: Path, pg_admin_url: str) -> None:
    import psycopg

    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "prod_bench.py"), "--quick", "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = next(tmp_path.glob("*-prod-quick.md")).read_text()
    assert "| Workload / metric | flowd |" in text
    for label, unit in (
        ("P1 10 one-task runs submitted at once", "runs/s |"),
        ("P2 submit → first task running, median of 5", "ms |"),
        ("P3 scheduler overhead per task", "ms |"),
        ("P4 RSS of the whole process tree at idle", "MB |"),
        ("P4 peak RSS of the whole process tree during P1", "MB |"),
    ):
        row = next((line for line in text.splitlines() if line.startswith(f"| {label}")), None)
        assert row is not None, f"no row {label!r} in\n{text}"
        assert row.endswith(unit), row
    assert "Missing cells" not in text
    assert "from the API call that submits a run to the moment its end is committed" in text
    name = re.search(r"database `(bench_flowd_\w+)`", text)
    assert name is not None, text
    with psycopg.connect(pg_admin_url) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name.group(1),)).fetchall()
    assert left == []
