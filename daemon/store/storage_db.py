"""Internal storage in the database (``FLOWD_STORAGE=database``): every node of a cluster reads every
task output file, with nothing shared but PostgreSQL (SQLite works too, for tests and one node).

Same interface as ``InternalStorage`` (``put``, ``open``, ``exists``, ``path_of``,
``delete_execution_files``) and the same URIs. A file is a row of ``storage_files`` and its bytes are rows of
``storage_chunks`` (``CHUNK`` bytes each): ``put`` streams the source file in one transaction, chunk by chunk
(readers see the whole file or none); ``open`` returns a reader fetching one chunk at a time. Memory stays
at about one chunk whatever the file size. ``path_of`` (tasks that need a local file) materialises the file
once into a node-local cache folder, streamed too; stored files never change, so the cache stays valid.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from daemon.clock import SystemClock
from daemon.errors import StoreError
from daemon.store.storage import SCHEME, InternalStorage, storage_uri
from daemon.store.tables import storage_chunks, storage_files

CHUNK = 1 << 20  # 1 MiB: few rows per file, a small read buffer


class DatabaseStorage(InternalStorage):
    """Task run files in ``storage_files`` / ``storage_chunks``; ``cache_dir`` holds local copies.
    A subclass of the folder storage so it goes wherever that one does (it overrides every method)."""

    def __init__(self, engine: Engine, cache_dir: Path, *, chunk_size: int = CHUNK) -> None:
        super().__init__(cache_dir)
        self.engine = engine
        self.chunk_size = chunk_size
        # path checks and the layout of the local copies are the folder storage's
        self._cache = InternalStorage(cache_dir)

    def put(
        self,
        namespace: str,
        flow_id: str,
        execution_id: str,
        task_id: str,
        task_run_id: str,
        src_path: Path,
        *,
        filename: str | None = None,
    ) -> str:
        """Store ``src_path`` (as ``filename``, default its own name); returns its URI."""
        uri = storage_uri(namespace, flow_id, execution_id, task_id, task_run_id, filename or src_path.name)
        files, chunks = storage_files, storage_chunks
        size = seq = 0
        with self.engine.begin() as conn, src_path.open("rb") as src:
            conn.execute(files.delete().where(files.c.uri == uri))  # chunks go with it (cascade)
            conn.execute(
                files.insert().values(
                    uri=uri, execution_id=execution_id, size=0, chunks=0, created_at=SystemClock().now()
                )
            )
            while block := src.read(self.chunk_size):
                conn.execute(chunks.insert().values(uri=uri, seq=seq, data=block))
                size += len(block)
                seq += 1
            conn.execute(files.update().where(files.c.uri == uri).values(size=size, chunks=seq))
        return uri

    def open(self, uri: str) -> BinaryIO:
        """A reader of a stored file, fetching one chunk at a time; StoreError when it does not exist."""
        self._cache.path_of(uri)  # validates the URI
        with self.engine.connect() as conn:
            count = conn.execute(sa.select(storage_files.c.chunks).where(storage_files.c.uri == uri)).scalar()
        if count is None:
            raise StoreError(f"no such file in internal storage: {uri}")
        return cast(BinaryIO, io.BufferedReader(_ChunkReader(self.engine, uri, count), self.chunk_size))

    def exists(self, uri: str) -> bool:
        """Whether the URI names a stored file."""
        self._cache.path_of(uri)
        with self.engine.connect() as conn:
            query = sa.select(sa.literal(1)).where(storage_files.c.uri == uri)
            return conn.execute(query).first() is not None

    def path_of(self, uri: str) -> Path:
        """A local copy of a stored file (made once, streamed); a path that does not exist when the file
        is not stored. StoreError when the URI is not ours or unsafe."""
        path = self._cache.path_of(uri)
        if path.is_file() or not self.exists(uri):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out, self.open(uri) as src:
                shutil.copyfileobj(src, out, self.chunk_size)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def delete_execution_files(
        self, execution_id: str, *, namespace: str | None = None, flow_id: str | None = None
    ) -> int:
        """Remove every file of an execution (and its local copies); returns how many files were removed."""
        with self.engine.begin() as conn:
            removed = conn.execute(
                storage_files.delete().where(storage_files.c.execution_id == execution_id)
            ).rowcount
        self._cache.delete_execution_files(execution_id, namespace=namespace, flow_id=flow_id)
        return int(removed or 0)


class _ChunkReader(io.RawIOBase):
    """Raw reads over a stored file's chunks, one short query per chunk."""

    def __init__(self, engine: Engine, uri: str, count: int) -> None:
        self._engine = engine
        self._uri = uri
        self._count = count
        self._seq = 0
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer:
            if self._seq >= self._count:
                return 0
            with self._engine.connect() as conn:
                data = conn.execute(
                    sa.select(storage_chunks.c.data).where(
                        storage_chunks.c.uri == self._uri, storage_chunks.c.seq == self._seq
                    )
                ).scalar()
            if data is None:
                raise StoreError(f"internal storage file {self._uri} lost chunk {self._seq}")
            self._seq += 1
            self._buffer = memoryview(bytes(data))
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def open_storage(kind: str, *, engine: Engine, storage_dir: Path, cache_dir: Path) -> InternalStorage:
    """The internal storage ``FLOWD_STORAGE`` names: ``local`` (a folder; default) or ``database``."""
    if kind == "database":
        return DatabaseStorage(engine, cache_dir / "storage")
    if kind in ("local", "folder", ""):
        return InternalStorage(storage_dir)
    raise StoreError(f"FLOWD_STORAGE={kind!r} is not a storage (choose local or database)")


__all__ = ["CHUNK", "SCHEME", "DatabaseStorage", "open_storage"]
