"""Summaries of repeated measurements: min / median / max, percentiles, paired ratios."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Min, median and max of one metric over the repetitions."""

    lo: float
    mid: float
    hi: float
    n: int

    def fmt(self, unit: str, digits: int = 1) -> str:
        """``median (min–max) unit``; the range is left out for a single repetition."""
        if self.n == 1:
            return f"{self.mid:.{digits}f} {unit}"
        return f"{self.mid:.{digits}f} ({self.lo:.{digits}f}–{self.hi:.{digits}f}) {unit}"


def summarize(values: Sequence[float]) -> Summary:
    """The summary of ``values`` (at least one)."""
    return Summary(min(values), statistics.median(values), max(values), len(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def paired_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float | None:
    """Median of the per-repetition ratios ours/theirs (runs of one repetition ran back to back)."""
    ratios = [a / b for a, b in zip(ours, theirs, strict=False) if b > 0]
    return statistics.median(ratios) if ratios else None
