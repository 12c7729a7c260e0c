"""The Pebble -> Jinja source translator works on tag contents only."""

from __future__ import annotations

import pytest

from daemon.expressions.translate import COALESCE, COALESCE_UNDEFINED, TERNARY, translate


@pytest.mark.parametrize(
    "source",
    [
        "plain text with ?? and null and elseif",
        "{{ 'a ?? b' }}",
        '{{ "null ? x : y" }}',
        "{# a ?? b null #}",
        "{% raw %}{{ a ?? null }}{% endraw %}",
        "{{ x.null }}",
        "{{ {'a': {'b': 1}} }}",
    ],
)
def test_text_strings_comments_and_raw_are_untouched(source: str) -> None:
    assert translate(source) == source


def test_coalesce_markers() -> None:
    assert translate("{{ a ?? b }}") == f"{{{{ a  ; {COALESCE}  b }}}}"
    assert translate("{{ a ??? b }}") == f"{{{{ a  ; {COALESCE_UNDEFINED}  b }}}}"
    assert translate("{{ a ? b : c }}") == f"{{{{ a  ; {TERNARY}  b : c }}}}"


def test_text_around_tags_keeps_question_marks() -> None:
    assert translate("why?? {{ a ?? b }} ok?").startswith("why?? {{ a  ; ")
    assert translate("why?? {{ a ?? b }} ok?").endswith(" b }} ok?")


def test_null_becomes_none_except_as_attribute() -> None:
    assert translate("{{ x == null }}") == "{{ x == none }}"
    assert translate("{{ x.null }}") == "{{ x.null }}"
    assert translate("{% if x is null %}") == "{% if x is none %}"


def test_block_tag_words() -> None:
    assert translate("{% elseif x %}") == "{% elif x %}"
    assert translate("{%- elseif x -%}") == "{%- elif x -%}"
    assert translate("{% verbatim %}{{ a ?? b }}{% endverbatim %}") == "{% raw %}{{ a ?? b }}{% endraw %}"


def test_elseif_only_as_first_word() -> None:
    assert translate("{% set elseif = 1 %}") == "{% set elseif = 1 %}"


def test_string_with_closing_delimiter_inside() -> None:
    assert translate("{{ '}}' ~ a ?? b }} x??") == f"{{{{ '}}}}' ~ a  ; {COALESCE}  b }}}} x??"


def test_newlines_are_preserved() -> None:
    source = "line1\n{{ a\n ?? b }}\n{% if c ??\n d %}"
    assert translate(source).count("\n") == source.count("\n")


def test_unterminated_tag_is_left_for_jinja() -> None:
    assert translate("{{ a ?? b").startswith("{{ a  ; ")
    assert translate("{{ 'open") == "{{ 'open"
