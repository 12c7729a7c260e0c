"""``bench/run.py --quick`` runs end to end and writes a results table (figures only, nothing about speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_quick_run_writes_a_results_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "w1,w3,w4", "--results-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    files = list(tmp_path.glob("*-quick.md"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "| Workload / metric | flowd |" in text
    for label in ("W1 inline chain of 10", "W3 cold start", "W4 20 definitions"):
        row = next((line for line in text.splitlines() if line.startswith(f"| {label}")), None)
        assert row is not None, f"no row {label!r} in\n{text}"
        assert " ms |" in row or " s |" in row
    assert "Command: `python bench/run.py --quick" in text


@pytest.mark.integration
def test_like_for_like_workloads_print_their_figures(tmp_path: Path) -> None:
    """W1p (persisted no-op chain) and W2s (working fan-out): figures, and the window stated in the method."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "w1p,w2s", "--results-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = next(tmp_path.glob("*-quick.md")).read_text()
    rows = {
        "W1p chain of 10 persisted no-op tasks": " ms |",
        "W1p gap between consecutive tasks": " ms |",
        "W2s 16 × shell `sleep 0.05`, concurrency 8: run time": " s |",
        "W2s tasks running side by side": " |",
    }
    for label, unit in rows.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| {label}")), None)
        assert row is not None, f"no row {label!r} in\n{text}"
        assert unit in row and "—" not in row.split("|")[2], row
    assert "to the moment its end is durable" in text


@pytest.mark.integration
def test_unknown_workload_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "w9", "--results-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert not list(tmp_path.iterdir())
