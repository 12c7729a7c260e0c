"""Hiding secret values in text (logs, outputs, error messages).

Each secret is masked as it is and in its base64 forms (standard and URL-safe, with and without padding):
Kestra's ``SECRET_*`` variables hold base64, and a task that prints its environment would show that form.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from functools import lru_cache

MASK = "******"
MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary words and digits


def secret_forms(secret: str) -> set[str]:
    """The secret and its base64 encodings (the forms a task could print)."""
    raw = secret.encode()
    forms = {secret}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


@lru_cache(maxsize=64)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str]:
    forms = sorted({f for v in values for f in secret_forms(v)}, key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in forms))


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (at least 3 characters long), and of its base64 forms, with
    ``******``. Longer values are replaced first, so a secret containing another is masked whole."""
    values = tuple(sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}))
    if not values or not text:
        return text
    return _pattern(values).sub(MASK, text)
