"""Internal storage: Kestra-style URIs, round trip, and no way out of the storage root."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.errors import StoreError
from daemon.store import InternalStorage


@pytest.fixture
def storage(tmp_path: Path) -> InternalStorage:
    return InternalStorage(tmp_path / "storage")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "out put.csv"
    path.write_bytes(b"a,b\n1,2\n")
    return path


def test_put_returns_a_kestra_uri_and_reads_back(storage: InternalStorage, src: Path) -> None:
    uri = storage.put("company.team", "etl", "E1", "extract", "TR1", src)
    assert uri == "kestra:///company/team/etl/executions/E1/tasks/extract/TR1/out%20put.csv"
    with storage.open(uri) as f:
        assert f.read() == b"a,b\n1,2\n"
    assert (
        storage.path_of(uri)
        == storage.root.resolve() / "company/team/etl/executions/E1/tasks/extract/TR1/out put.csv"
    )
    assert storage.exists(uri)


def test_put_with_a_filename(storage: InternalStorage, src: Path) -> None:
    uri = storage.put("ns", "f", "E1", "t", "TR1", src, filename="result.json")
    assert uri.endswith("/TR1/result.json")


@pytest.mark.parametrize(
    "uri",
    [
        "kestra:///ns/../../etc/passwd",
        "kestra:///ns/%2e%2e/%2e%2e/etc/passwd",
        "kestra:///ns/a%2F..%2F..%2Fx",
        "kestra:///ns//x",
        "kestra:///./x",
        "kestra:///ns/x%00y",
        "file:///etc/passwd",
        "kestra://host/ns/x",
        "/etc/passwd",
    ],
)
def test_unsafe_uris_are_refused(storage: InternalStorage, uri: str) -> None:
    with pytest.raises(StoreError):
        storage.path_of(uri)


@pytest.mark.parametrize(
    ("namespace", "flow_id", "task_id", "filename"),
    [
        ("..", "f", "t", "x"),
        ("ns", "..", "t", "x"),
        ("ns", "f", "a/b", "x"),
        ("ns", "f", "t", ".."),
        ("a..b", "f", "t", "x"),
    ],
)
def test_unsafe_parts_are_refused_on_put(
    storage: InternalStorage, src: Path, namespace: str, flow_id: str, task_id: str, filename: str
) -> None:
    with pytest.raises(StoreError):
        storage.put(namespace, flow_id, "E1", task_id, "TR1", src, filename=filename)


def test_symlink_out_of_the_root_is_refused(storage: InternalStorage, src: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.root.mkdir(parents=True)
    (storage.root / "ns").symlink_to(outside)
    with pytest.raises(StoreError):
        storage.path_of("kestra:///ns/secret")


def test_open_missing_file(storage: InternalStorage) -> None:
    with pytest.raises(StoreError, match="no such file"):
        storage.open("kestra:///ns/f/executions/E1/tasks/t/TR1/none.txt")


def test_delete_execution_files(storage: InternalStorage, src: Path) -> None:
    kept = storage.put("ns", "f", "E2", "t", "TR9", src)
    for task in ("a", "b"):
        storage.put("ns.sub", "f", "E1", task, "TR1", src)
    assert storage.delete_execution_files("E1") == 1
    assert not (storage.root / "ns/sub/f/executions/E1").exists()
    assert storage.exists(kept)
    assert storage.delete_execution_files("E2", namespace="ns", flow_id="f") == 1
    assert not storage.exists(kept)
    with pytest.raises(StoreError):
        storage.delete_execution_files("..")
