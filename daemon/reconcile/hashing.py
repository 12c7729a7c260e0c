"""What counts as a change of a flow file: the content hash over its normalised source text.

Normalisation is deliberately small. Removed before hashing: a UTF-8 byte-order mark, the difference between
CRLF / CR / LF line endings, and trailing blank lines and spaces at the end of the file. These never change
what YAML reads (except a ``|+`` block scalar at the very end of a file, which nobody writes on purpose) and
they are what editors and Git's ``autocrlf`` flip on their own. Every other whitespace change (indentation,
trailing spaces inside the file, blank lines between keys) *does* count and makes a new revision: indentation
is meaning in YAML, trailing spaces inside block scalars are part of the value, and the stored source is the
text users read in ``flowd status``, so it should be the text of the commit it claims to come from.
"""

from __future__ import annotations

import hashlib


def normalize_source(text: str) -> str:
    """The text that is hashed: no BOM, LF line endings, exactly one final newline."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip() + "\n"


def content_hash(text: str) -> str:
    """sha256 hex of the normalised text (the ``hash`` column of a deployed flow)."""
    return hashlib.sha256(normalize_source(text).encode("utf-8", "surrogatepass")).hexdigest()
