"""What a source yields: a frozen view of its flow files at one point, and the Source port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file the source deliberately did not read, with the reason (shown by ``flowd sync``)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The candidate flow files of a source at one point in time.

    ``files`` maps repository-relative POSIX paths (relative to the repository or folder root, never to the
    ``path`` subfolder) to their bytes; every ``*.yml``/``*.yaml`` file under ``path``
    is here, flow or not (the collector decides which are flows).
    ``commit`` is the Git commit read, or None for a plain folder. ``path`` is the normalised subfolder
    ("" for the whole source). ``blobs`` (Git only: path -> blob id) and ``links`` (symlinks that were
    followed: link path -> resolved target) let the next snapshot reuse unchanged content.
    """

    commit: str | None
    files: dict[str, bytes]
    skipped: tuple[Skipped, ...] = ()
    path: str = ""
    blobs: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    links: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


class Source(Protocol):
    """A place flows are read from (a Git repository or a folder)."""

    def snapshot(self, since: Snapshot | None = None) -> Snapshot:
        """Read the source now; ``since`` (a previous snapshot of this source) allows incremental reads."""
        ...

    def describe(self) -> str:
        """A short human description (no credentials) for logs and sync records."""
        ...
