"""``flowd --help`` says where the data lives; the README's tour starts where a newcomer starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def test_help_names_the_data_locations_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FLOWD_DATABASE_URL", raising=False)
    text = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    assert "FLOWD_HOME" in text and "FLOWD_DATABASE_URL" in text
    assert f"the SQLite file {tmp_path / 'home' / 'flowd.db'}" in text
    monkeypatch.setenv("FLOWD_DATABASE_URL", "postgresql://flowd:s3cret@db/flowd")
    text = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    assert "postgresql://flowd:***@db/flowd" in text and "s3cret" not in text


def test_run_help_says_where_the_data_lives() -> None:
    text = " ".join(CliRunner().invoke(cli, ["run", "--help"]).output.split())
    assert "FLOWD_HOME" in text and "flowd.db" in text and "--follow-commits" in text


def test_readme_tour_starts_with_flowd_init() -> None:
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    commands = [
        line for line in tour.split("```")[1].splitlines() if line.strip() and not line.startswith("#")
    ]
    assert commands[0].startswith("flowd init")
