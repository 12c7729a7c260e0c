"""Server-side YAML highlighting for the flow page: a line scanner marking keys, comments, strings, numbers,
booleans and ``{{ expressions }}`` with CSS classes (``hl-*``). Pure; every piece of text is escaped."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_KEY = re.compile(r"^(\s*(?:-\s+)?)([^\s#'\"{}\[\]][^:#]*?|\"[^\"]*\"|'[^']*')(:)(?=\s|$)")
_TOKEN = re.compile(
    r"(?P<expr>\{\{.*?\}\}|\{%.*?%\})"
    r"|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*')"
    r"|(?P<com>(?:(?<=\s)|^)#.*$)"
    r"|(?P<num>(?<![\w.-])-?\d+(?:\.\d+)?(?![\w.:-]))"
    r"|(?P<kw>(?<![\w-])(?:true|false|null|True|False|~)(?![\w-]))"
    r"|(?P<pun>^\s*-(?=\s)|[\[\]{},|>])"
)
_CLASSES = {
    "expr": "hl-expr",
    "str": "hl-str",
    "com": "hl-com",
    "num": "hl-num",
    "kw": "hl-kw",
    "pun": "hl-pun",
}


def _value(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        kind = match.lastgroup or "pun"
        out.append(f'<span class="{_CLASSES[kind]}">{escape(match.group())}</span>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return "".join(out)


def highlight_yaml(source: str) -> Markup:
    """The source as HTML with highlighting spans, line for line (no wrapping element)."""
    lines: list[str] = []
    for line in source.splitlines():
        key = _KEY.match(line)
        if key and not line.lstrip().startswith("#"):
            lead, name, colon = key.groups()
            rest = line[key.end() :]
            lines.append(
                _value(lead) + f'<span class="hl-key">{escape(name)}</span>{escape(colon)}' + _value(rest)
            )
        else:
            lines.append(_value(line))
    return Markup("\n".join(lines))
