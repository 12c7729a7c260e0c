"""``strict`` sync (FLOWD_STRICT): flowd's checks beyond Kestra's refuse a file; by default they only warn."""

from __future__ import annotations

import pytest

from daemon.reconcile.collect import FileChecker, check_file
from daemon.reconcile.plan import DesiredFlow, InvalidFile
from daemon.settings import Settings

FLOW = (
    b"id: f\nnamespace: team.a\ntasks:\n"
    b"  - {id: t, type: io.kestra.plugin.core.log.Log, message: '{{ inputs.nope }}'}\n"
)


def test_default_sync_deploys_a_flow_kestra_deploys() -> None:
    assert isinstance(check_file("f.yml", FLOW), DesiredFlow)


def test_strict_sync_refuses_it_naming_the_reference() -> None:
    found = FileChecker(strict=True).collect({"f.yml": FLOW})
    assert not found.desired and isinstance(found.invalid[0], InvalidFile)
    assert "'inputs.nope' is not a declared input" in found.invalid[0].diagnostics[0].message


def test_strict_setting_reads_flowd_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWD_STRICT", "true")
    assert Settings().strict is True
    monkeypatch.delenv("FLOWD_STRICT")
    assert Settings().strict is False
