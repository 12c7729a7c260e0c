"""The disk cache of parsed flows: hits return the same flow, anything doubtful is a miss."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.errors import FlowFileError
from daemon.language import parsed_cache
from daemon.language.parsed_cache import (
    DB_NAME,
    cached_load_flow,
    flush,
    lookup,
    remember_flow,
    use_flow_cache,
)
from daemon.language.validate import load_flow, validate_text

FLOW = """id: hello
namespace: team.a
tasks:
  - id: say
    type: io.kestra.core.tasks.log.Log
    message: "hi {{ execution.id }}"
  - id: branch
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - {id: inner, type: io.kestra.plugin.core.debug.Return, format: x}
"""
OTHER = FLOW.replace("id: hello", "id: other")
INVALID = "id: bad\nnamespace: team.a\ntasks:\n  - {id: x, type: io.kestra.plugin.core.log.Log}\n"


def _rows(directory: Path) -> list[tuple[str, bytes]]:
    with sqlite3.connect(directory / DB_NAME) as db:
        return db.execute("SELECT key, payload FROM flows").fetchall()


def test_off_by_default_nothing_is_written(tmp_path: Path) -> None:
    assert validate_text(FLOW, "f.yml").ok
    flush()
    assert lookup(FLOW) is None and list(tmp_path.iterdir()) == []


def test_a_validated_flow_is_found_again(tmp_path: Path) -> None:
    with use_flow_cache(tmp_path):
        flow = validate_text(FLOW, "f.yml").flow
    with use_flow_cache(tmp_path):
        cached = lookup(FLOW)
        assert lookup(OTHER) is None
    assert flow is not None and cached == flow and cached is not flow
    assert cached.tasks[0].type == "io.kestra.plugin.core.log.Log"  # the canonical type, as validated
    assert len(_rows(tmp_path)) == 1


def test_invalid_flows_are_not_cached(tmp_path: Path) -> None:
    with use_flow_cache(tmp_path):
        with pytest.raises(FlowFileError):
            cached_load_flow(INVALID, "bad.yml")
        assert lookup(INVALID) is None


def test_another_fingerprint_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with use_flow_cache(tmp_path):
        remember_flow(FLOW, load_flow(FLOW))
    monkeypatch.setattr(parsed_cache, "_fingerprint", "another flowd")
    with use_flow_cache(tmp_path):
        assert lookup(FLOW) is None


def test_an_entry_whose_hash_does_not_match_is_not_trusted(tmp_path: Path) -> None:
    with use_flow_cache(tmp_path):
        remember_flow(FLOW, load_flow(FLOW))
        remember_flow(OTHER, load_flow(OTHER))
    (key_a, payload_a), (key_b, payload_b) = sorted(_rows(tmp_path))
    with sqlite3.connect(tmp_path / DB_NAME) as db:  # swap the payloads: each now holds the other's flow
        db.execute("UPDATE flows SET payload = ? WHERE key = ?", (payload_b, key_a))
        db.execute("UPDATE flows SET payload = ? WHERE key = ?", (payload_a, key_b))
    with use_flow_cache(tmp_path):
        assert lookup(FLOW) is None and lookup(OTHER) is None


def test_a_damaged_entry_misses_and_validation_takes_over(tmp_path: Path) -> None:
    with use_flow_cache(tmp_path):
        remember_flow(FLOW, load_flow(FLOW))
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE flows SET payload = ?", (pickle.dumps("garbage")[:5],))
    with use_flow_cache(tmp_path):
        assert lookup(FLOW) is None
        assert cached_load_flow(FLOW).id == "hello"  # validated, and remembered again
    with use_flow_cache(tmp_path):
        assert lookup(FLOW) is not None


def test_a_hit_skips_validation(tmp_path: Path) -> None:
    with use_flow_cache(tmp_path):
        cached_load_flow(FLOW)
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from daemon.language.parsed_cache import cached_load_flow, use_flow_cache\n"
        f"with use_flow_cache(Path({str(tmp_path)!r})):\n"
        f"    flow = cached_load_flow({FLOW!r})\n"
        "print(flow.id, 'daemon.language.validate' in sys.modules, 'yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["hello", "False", "False"]


def test_a_relative_directory_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with use_flow_cache(Path("home") / "cache"):
        cached_load_flow(FLOW)
    with use_flow_cache(Path("home") / "cache"):
        assert lookup(FLOW) is not None
