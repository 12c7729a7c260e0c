"""Container resource limits written by humans ("512MB", "1g", 1.5 CPUs) as the numbers Docker wants."""

from __future__ import annotations

import re

from daemon.errors import TaskError

# Binary multiples, as ``docker run --memory 512m`` means 512 MiB.
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:ib|b|i)?\s*$", re.IGNORECASE)


def memory_bytes(text: str | int) -> int:
    """``"512MB"``, ``"512m"``, ``"512Mi"``, ``"1GiB"``, ``"1g"`` or a byte count -> bytes."""
    if isinstance(text, int):
        value = text
    else:
        match = _MEMORY.match(text)
        if match is None:
            raise TaskError(f"docker: invalid memory limit '{text}' (expected e.g. 512MB, 1g)")
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0:
        raise TaskError(f"docker: invalid memory limit '{text}' (must be positive)")
    return value


def nano_cpus(cpus: float) -> int:
    """A number of CPUs (may be fractional) -> Docker's NanoCpus."""
    if cpus <= 0:
        raise TaskError(f"docker: invalid cpu limit {cpus} (must be positive)")
    return round(cpus * 1e9)
