"""Hiding secret values in text (logs, outputs, error messages)."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "******"
MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary words and digits


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (at least 3 characters long) with ``******``.

    Longer secrets are replaced first, so a secret containing another is masked whole.
    """
    values = sorted(
        {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    if not values or not text:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return pattern.sub(MASK, text)
