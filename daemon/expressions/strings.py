"""String filters with Pebble/Kestra semantics (Jinja already provides upper, lower, trim, title, ...)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from daemon.expressions.errors import ExpressionError


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def slugify(value: Any) -> str:
    """Lower-case ASCII words joined by ``-``: ``"Hello, World!"`` -> ``hello-world``."""
    ascii_text = unicodedata.normalize("NFKD", _text(value)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def capitalize(value: Any) -> str:
    """Upper-case the first character only (Pebble leaves the rest as is, unlike Jinja)."""
    text = _text(value)
    return text[:1].upper() + text[1:]


def starts_with(value: Any, prefix: str) -> bool:
    """``value | startsWith(prefix)``."""
    return _text(value).startswith(prefix)


def ends_with(value: Any, suffix: str) -> bool:
    """``value | endsWith(suffix)``."""
    return _text(value).endswith(suffix)


def substring_before(value: Any, separator: str) -> str:
    """Text before the first ``separator``; the whole text when it is absent."""
    text = _text(value)
    index = text.find(separator)
    return text if index < 0 else text[:index]


def substring_after(value: Any, separator: str) -> str:
    """Text after the first ``separator``; empty when it is absent."""
    text = _text(value)
    index = text.find(separator)
    return "" if index < 0 else text[index + len(separator) :]


def substring_before_last(value: Any, separator: str) -> str:
    """Text before the last ``separator``; the whole text when it is absent."""
    text = _text(value)
    index = text.rfind(separator)
    return text if index < 0 else text[:index]


def substring_after_last(value: Any, separator: str) -> str:
    """Text after the last ``separator``; empty when it is absent."""
    text = _text(value)
    index = text.rfind(separator)
    return "" if index < 0 else text[index + len(separator) :]


def base64_encode(value: Any) -> str:
    """Base64 of the UTF-8 bytes."""
    return base64.b64encode(_text(value).encode()).decode("ascii")


def base64_decode(value: Any) -> str:
    """Decode base64 into UTF-8 text."""
    try:
        return base64.b64decode(_text(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ExpressionError(f"base64decode: invalid input: {exc}") from exc


def _hasher(name: str) -> Any:
    def digest(value: Any) -> str:
        return hashlib.new(name, _text(value).encode()).hexdigest()

    digest.__doc__ = f"Hex {name} of the UTF-8 bytes."
    return digest


def replace(value: Any, old: Any, new: Any = None, count: int | None = None, regexp: bool = False) -> str:
    """``replace({'a': 'b', ...}, regexp=false)`` (Pebble) or ``replace(old, new[, count])`` (Jinja)."""
    text = _text(value)
    pairs = list(old.items()) if isinstance(old, Mapping) else [(old, "" if new is None else new)]
    for search, replacement in pairs:
        if regexp:
            # Java's $1 group references become Python's \1.
            python_repl = re.sub(r"\$(\d+)", r"\\\1", _text(replacement))
            text = re.sub(_text(search), python_repl, text, count=count or 0)
        else:
            text = text.replace(_text(search), _text(replacement), -1 if count is None else count)
    return text


def split(value: Any, delimiter: str, limit: int | None = None) -> list[str]:
    """Split on a literal delimiter; ``limit`` > 0 caps the number of parts (Java's ``split`` limit)."""
    text = _text(value)
    if limit is not None and limit > 0:
        return text.split(delimiter, limit - 1)
    return text.split(delimiter)


def abbreviate(value: Any, length: int) -> str:
    """Shorten to ``length`` characters including a trailing ``...``."""
    text = _text(value)
    if len(text) <= length:
        return text
    return text[: max(length - 3, 0)] + "..."


def indent(value: Any, amount: int, prefix: str = " ") -> str:
    """Indent every line but the first by ``amount`` times ``prefix`` (Kestra's ``indent``)."""
    pad = prefix * amount
    return _text(value).replace("\n", "\n" + pad)


def nindent(value: Any, amount: int, prefix: str = " ") -> str:
    """A newline, then every line indented by ``amount`` times ``prefix`` (Kestra's ``nindent``)."""
    pad = prefix * amount
    return "\n" + pad + _text(value).replace("\n", "\n" + pad)


def urldecode(value: Any) -> str:
    """Decode ``%XX`` escapes and ``+`` as space."""
    return unquote_plus(_text(value))


FILTERS = {
    "slugify": slugify,
    "capitalize": capitalize,
    "startsWith": starts_with,
    "endsWith": ends_with,
    "substringBefore": substring_before,
    "substringAfter": substring_after,
    "substringBeforeLast": substring_before_last,
    "substringAfterLast": substring_after_last,
    "base64encode": base64_encode,
    "base64decode": base64_decode,
    "md5": _hasher("md5"),
    "sha1": _hasher("sha1"),
    "sha256": _hasher("sha256"),
    "sha512": _hasher("sha512"),
    "replace": replace,
    "split": split,
    "abbreviate": abbreviate,
    "indent": indent,
    "nindent": nindent,
    "urldecode": urldecode,
}
