"""Python ``dependencies``: time to build a task's environment the first time, and to find it cached after.

Method: a one-module wheel in a temporary folder is the only package index (``UV_FIND_LINKS`` and
``PIP_FIND_LINKS``, no index), so the figures measure flowd's environment handling and the installer, not the
network. For each installer (uv when installed, then venv + pip), ``ensure_env`` runs once on an empty cache
(cold) and then ``--repeat`` times on the filled one (warm); the median is printed.
Run: ``python bench/python_deps_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.tasks import python_env


def _wheel(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    info = "benchpkg-1.0.dist-info"
    with zipfile.ZipFile(folder / "benchpkg-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("benchpkg/__init__.py", "VALUE = 1\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: benchpkg\nVersion: 1.0\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")


def _measure(cache: Path, repeat: int) -> tuple[float, float]:
    def once() -> float:
        start = time.perf_counter()
        asyncio.run(python_env.ensure_env(["benchpkg==1.0"], None, cache_dir=cache, log=lambda _l, _m: None))
        return time.perf_counter() - start

    cold = once()
    return cold, statistics.median(once() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        _wheel(wheels)
        os.environ.update(
            UV_NO_INDEX="1", UV_FIND_LINKS=str(wheels), UV_CACHE_DIR=f"{tmp}/uv-cache",
            PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_CONFIG_FILE="/dev/null",
        )  # fmt: skip
        installers = ["uv", "pip"] if python_env.uv_binary() else ["pip"]
        print(f"python dependencies: one local wheel, warm = median of {args.repeat}")
        for installer in installers:
            if installer == "pip":
                python_env.uv_binary = lambda: None  # type: ignore[assignment]
            cold, warm = _measure(Path(tmp) / f"cache-{installer}", args.repeat)
            print(f"  {installer:4} cold build {cold * 1000:8.0f} ms   cached {warm * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
