"""A plain folder of flow files, read as it is on disk (no Git, even when it holds a ``.git``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from daemon.errors import SourceError
from daemon.sources.discovery import is_yaml_name, normalize_subpath
from daemon.sources.snapshot import Skipped, Snapshot


@dataclass
class _Walk:
    root_real: str
    files: dict[str, bytes] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    def inside(self, real: str) -> bool:
        return real == self.root_real or real.startswith(self.root_real + os.sep)

    def relative(self, real: str) -> str:
        return Path(os.path.relpath(real, self.root_real)).as_posix()


class LocalFolderSource:
    """Reads ``*.yml``/``*.yaml`` flow candidates below ``root`` (optionally only under ``path``).

    Symlinks are followed when they resolve inside ``root`` (directory links too, with loop protection);
    links leaving ``root``, broken links and loops are listed in ``Snapshot.skipped``. ``.git`` folders are
    never entered.
    """

    def __init__(self, root: Path, path: str | None = None) -> None:
        self.root = Path(root)
        self.path = normalize_subpath(path)

    def describe(self) -> str:
        """The folder (and subfolder) being read."""
        return f"{self.root}" + (f" (path {self.path})" if self.path else "")

    def snapshot(self, since: Snapshot | None = None) -> Snapshot:
        """Read every candidate file now; ``since`` is accepted for the Source protocol and ignored."""
        if not self.root.is_dir():
            raise SourceError(f"source folder {self.root} does not exist or is not a folder")
        walk = _Walk(root_real=os.path.realpath(self.root))
        start = os.path.realpath(self.root / self.path) if self.path else walk.root_real
        if not walk.inside(start) or not os.path.isdir(start):
            raise SourceError(f"--path '{self.path}' does not exist in {self.root}")
        self._walk(walk, start, self.path, (start,))
        return Snapshot(
            commit=None,
            files=dict(sorted(walk.files.items())),
            skipped=tuple(walk.skipped),
            path=self.path,
            links=walk.links,
        )

    def _walk(self, walk: _Walk, real_dir: str, rel_dir: str, stack: tuple[str, ...]) -> None:
        try:
            entries = sorted(os.scandir(real_dir), key=lambda e: e.name)
        except OSError as exc:
            raise SourceError(f"cannot list {real_dir}: {exc.strerror or exc}") from None
        for entry in entries:
            if entry.name == ".git":
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                self._follow(walk, entry, rel, stack)
            elif entry.is_dir(follow_symlinks=False):
                self._walk(walk, entry.path, rel, (*stack, entry.path))
            elif entry.is_file(follow_symlinks=False) and is_yaml_name(entry.name):
                self._read(walk, entry.path, rel)

    def _follow(self, walk: _Walk, entry: os.DirEntry[str], rel: str, stack: tuple[str, ...]) -> None:
        real = os.path.realpath(entry.path)
        if not walk.inside(real):
            walk.skipped.append(Skipped(rel, "symlink points outside the source folder"))
        elif not os.path.exists(real):
            walk.skipped.append(Skipped(rel, "broken symlink"))
        elif os.path.isdir(real):
            if real in stack:
                walk.skipped.append(Skipped(rel, "symlink loop"))
                return
            walk.links[rel] = walk.relative(real)
            self._walk(walk, real, rel, (*stack, real))
        elif os.path.isfile(real) and is_yaml_name(entry.name):
            walk.links[rel] = walk.relative(real)
            self._read(walk, real, rel)

    @staticmethod
    def _read(walk: _Walk, real: str, rel: str) -> None:
        try:
            content = Path(real).read_bytes()
        except OSError as exc:
            # Failing loudly is safer than skipping: a skipped flow would look deleted to the pruner.
            raise SourceError(f"cannot read {rel}: {exc.strerror or exc}") from None
        # every YAML file, flow or not: a deployed flow's file that stopped looking like a flow must be
        # seen (and kept as invalid), never taken for a removed file (see ``discovery``)
        walk.files[rel] = content
