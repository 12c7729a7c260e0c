"""Both internal storages through one interface; the database one streams (memory stays about one chunk)."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import StoreError
from daemon.store import InternalStorage, Store
from daemon.store.storage_db import DatabaseStorage, open_storage

CHUNK = 256 * 1024


@pytest.fixture(params=["local", "database"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, store: Store) -> Iterator[Any]:
    if request.param == "local":
        yield InternalStorage(tmp_path / "storage")
        return
    yield DatabaseStorage(store.engine, tmp_path / "cache", chunk_size=CHUNK)


def _file(tmp_path: Path, size: int, name: str = "big.bin") -> Path:
    path = tmp_path / name
    with path.open("wb") as f:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 1 << 20))
            f.write(block)
            remaining -= len(block)
    return path


def test_round_trip_same_uri(storage: Any, tmp_path: Path) -> None:
    src = tmp_path / "out put.csv"
    src.write_bytes(b"a,b\n1,2\n")
    uri = storage.put("company.team", "etl", "E1", "extract", "TR1", src)
    assert uri == "kestra:///company/team/etl/executions/E1/tasks/extract/TR1/out%20put.csv"
    assert storage.exists(uri)
    with storage.open(uri) as f:
        assert f.read() == b"a,b\n1,2\n"
    assert storage.path_of(uri).read_bytes() == b"a,b\n1,2\n"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    empty_uri = storage.put("ns", "f", "E1", "t", "TR1", empty)
    with storage.open(empty_uri) as f:
        assert f.read() == b""
    assert storage.delete_execution_files("E1", namespace="company.team", flow_id="etl") >= 1
    assert not storage.exists(uri)


def test_missing_and_unsafe(storage: Any) -> None:
    with pytest.raises(StoreError):
        storage.open("kestra:///ns/f/executions/E/tasks/t/r/none")
    assert not storage.exists("kestra:///ns/f/executions/E/tasks/t/r/none")
    assert not storage.path_of("kestra:///ns/f/executions/E/tasks/t/r/none").exists()
    with pytest.raises(StoreError):
        storage.path_of("kestra:///ns/../../etc/passwd")


def test_large_file_streamed_with_bounded_memory(storage: Any, tmp_path: Path) -> None:
    size = 12 * 1024 * 1024 + 123
    src = _file(tmp_path, size)
    tracemalloc.start()
    try:
        uri = storage.put("ns", "f", "E2", "t", "TR", src)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read = 0
        with storage.open(uri) as f, src.open("rb") as expected:
            while block := f.read(64 * 1024):
                assert block == expected.read(len(block))
                read += len(block)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == size
    # a few chunks at most, never the 12 MiB file
    assert put_peak < 4 * 1024 * 1024 and read_peak < 4 * 1024 * 1024, (put_peak, read_peak)


def test_database_storage_is_shared_between_nodes(store: Store, tmp_path: Path) -> None:
    # two nodes = two storages on one database, each with its own local cache
    writer = DatabaseStorage(store.engine, tmp_path / "node-a", chunk_size=CHUNK)
    reader = DatabaseStorage(store.engine, tmp_path / "node-b", chunk_size=CHUNK)
    src = _file(tmp_path, CHUNK * 3 + 7)
    uri = writer.put("ns", "f", "E3", "t", "TR", src, filename="data.bin")
    local = reader.path_of(uri)
    assert local.is_relative_to(tmp_path / "node-b") and local.read_bytes() == src.read_bytes()
    # replacing a file replaces every chunk
    small = tmp_path / "small"
    small.write_bytes(b"x")
    writer.put("ns", "f", "E3", "t", "TR", small, filename="data.bin")
    with reader.open(uri) as f:
        assert f.read() == b"x"


def test_open_storage_by_setting(store: Store, tmp_path: Path) -> None:
    assert isinstance(
        open_storage("local", engine=store.engine, storage_dir=tmp_path, cache_dir=tmp_path), InternalStorage
    )
    assert isinstance(
        open_storage("database", engine=store.engine, storage_dir=tmp_path, cache_dir=tmp_path),
        DatabaseStorage,
    )
    with pytest.raises(StoreError, match="local or database"):
        open_storage("s3", engine=store.engine, storage_dir=tmp_path, cache_dir=tmp_path)
