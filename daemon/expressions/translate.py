"""Pebble source -> Jinja source, rewriting tokens inside ``{{ }}`` and ``{% %}`` only.

Text outside tags, comments, ``{% raw %}``/``{% verbatim %}`` bodies and string literals are copied as is.
Newlines are never added or removed, so line numbers in Jinja's errors match the original text.

Rewrites:
- ``???`` / ``??`` / ``?`` -> ``; <marker name>``, which the parser (``parser.py``) turns into
  undefined-coalescing, null-coalescing and the ``cond ? a : b`` ternary. The ``;`` token (unused by Jinja
  expressions) keeps a preceding ``is <test>`` from taking the marker as its argument;
- ``null`` -> ``none`` (Pebble's null literal);
- first word of a block tag: ``elseif`` -> ``elif``, ``verbatim``/``endverbatim`` -> ``raw``/``endraw``.
"""

from __future__ import annotations

import re

COALESCE = "__flowd_coalesce__"
COALESCE_UNDEFINED = "__flowd_coalesce_undefined__"
TERNARY = "__flowd_ternary__"

_TAG_WORDS = {"elseif": "elif", "verbatim": "raw", "endverbatim": "endraw"}
_OPEN = re.compile(r"\{\{|\{%|\{#")
_RAW_END = re.compile(r"\{%-?\s*end(?:raw|verbatim)\s*-?%\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def translate(source: str) -> str:
    """Rewrite the Pebble-only forms of ``source`` into Jinja syntax."""
    out: list[str] = []
    pos = 0
    while True:
        match = _OPEN.search(source, pos)
        if match is None:
            out.append(source[pos:])
            return "".join(out)
        start = match.start()
        out.append(source[pos:start])
        opener = match.group()
        if opener == "{#":
            end = source.find("#}", start + 2)
            end = len(source) if end < 0 else end + 2
            out.append(source[start:end])
            pos = end
            continue
        closer = "}}" if opener == "{{" else "%}"
        body, end, first_word = _translate_tag(source, start + 2, closer, is_block=opener == "{%")
        out.append(opener)
        out.append(body)
        pos = end
        if first_word in ("raw", "verbatim"):
            raw_end = _RAW_END.search(source, pos)
            stop = len(source) if raw_end is None else raw_end.start()
            out.append(source[pos:stop])
            pos = stop


def _translate_tag(source: str, pos: int, closer: str, *, is_block: bool) -> tuple[str, int, str | None]:
    """Translate one tag body starting at ``pos``; returns (text incl. closer, end, first word)."""
    out: list[str] = []
    depth: list[str] = []
    first_word: str | None = None
    previous = ""  # last significant character, to recognise attribute names after "."
    n = len(source)
    i = pos
    while i < n:
        ch = source[i]
        if not depth and source.startswith(closer, i):
            out.append(closer)
            return "".join(out), i + 2, first_word
        if ch in "'\"":
            string = _STRING.match(source, i)
            if string is None:  # unterminated: let Jinja report it
                out.append(source[i:])
                return "".join(out), n, first_word
            out.append(string.group())
            i = string.end()
            previous = ch
            continue
        if ch == "?":
            count = 3 if source.startswith("???", i) else 2 if source.startswith("??", i) else 1
            out.append(f" ; {(TERNARY, COALESCE, COALESCE_UNDEFINED)[count - 1]} ")
            i += count
            previous = "?"
            continue
        name = _NAME.match(source, i) if (ch.isalpha() or ch == "_") else None
        if name is not None:
            word = name.group()
            if is_block and first_word is None:
                first_word = word
                word = _TAG_WORDS.get(word, word)
            elif word == "null" and previous != ".":
                word = "none"
            out.append(word)
            i = name.end()
            previous = "a"
            continue
        if ch in _PAIRS:
            depth.append(_PAIRS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        if not ch.isspace():
            previous = ch
        out.append(ch)
        i += 1
    return "".join(out), n, first_word
