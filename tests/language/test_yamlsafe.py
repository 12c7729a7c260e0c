from __future__ import annotations

import tracemalloc

import pytest
import yaml

from daemon.language.yamlsafe import YamlLoadError, format_path, load_yaml


def fatal(text: str, **kwargs: int) -> str:
    with pytest.raises(YamlLoadError) as info:
        load_yaml(text, "f.yml", **kwargs)
    (diag,) = info.value.diagnostics
    return diag.render()


def test_data_and_marks_for_keys_and_values() -> None:
    loaded = load_yaml("id: a\ntasks:\n  - id: t\n    retry:\n      maxAttempt: 3\n", "f.yml")
    assert loaded.data == {"id": "a", "tasks": [{"id": "t", "retry": {"maxAttempt": 3}}]}
    assert loaded.marks.value(("tasks", 0, "retry", "maxAttempt")) == (5, 19)
    assert loaded.marks.key(("tasks", 0, "retry", "maxAttempt")) == (5, 7)
    # a path that is not there points at its nearest parent
    assert loaded.marks.value(("tasks", 0, "retry", "nope")) == (5, 7)
    assert loaded.diagnostics == []


def test_dates_stay_strings_and_keys_are_strings() -> None:
    data = load_yaml("when: 2024-01-31\n1: one\non: yes\n").data
    assert data == {"when": "2024-01-31", "1": "one", "on": True}


def test_duplicate_keys_report_both_lines() -> None:
    loaded = load_yaml("id: a\nnamespace: n\ntasks:\n  - id: t\n    id: u\nid: b\n", "f.yml")
    rendered = [d.render() for d in loaded.diagnostics]
    assert rendered[0].startswith(
        "f.yml:5:5: error: tasks[0].id: duplicate key 'id' (first at line 4, again at line 5)"
    )
    assert rendered[1].startswith(
        "f.yml:6:1: error: id: duplicate key 'id' (first at line 1, again at line 6)"
    )


def test_unquoted_template_is_explained() -> None:
    loaded = load_yaml("a: 1\nmessage: {{ inputs.name }}\nitems:\n  - {{ x }}\n", "f.yml")
    first, second = loaded.diagnostics
    assert (first.line, first.column, first.path) == (2, 10, "message")
    assert "unquoted '{{ inputs.name }}'" in first.message
    assert first.hint == 'quote it: message: "{{ inputs.name }}"'
    assert second.hint == 'quote it: - "{{ x }}"'
    assert loaded.data["message"] == "{{ inputs.name }}"


def test_unquoted_template_followed_by_text_is_a_syntax_error_with_a_hint() -> None:
    text = fatal("id: a\nmessage: {{ inputs.name }} and more\n")
    assert text.startswith("f.yml:2:")
    assert "YAML syntax error" in text and "must be quoted" in text


def test_billion_laughs_fails_fast_without_memory() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    tracemalloc.start()
    try:
        text = fatal("\n".join(lines) + "\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases expand to more than" in text
    assert peak < 50 * 1024 * 1024


def test_small_alias_use_is_fine() -> None:
    data = load_yaml("base: &b {x: 1}\nt:\n  <<: *b\n  y: 2\nu: *b\n").data
    assert data["t"] == {"x": 1, "y": 2} and data["u"] == {"x": 1}


def test_recursive_alias() -> None:
    assert "recursive YAML alias" in fatal("a: &a [*a]\n")


def test_size_cap() -> None:
    assert "larger than the 100 bytes" in fatal("a: " + "x" * 200 + "\n", max_bytes=100)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "f.yml:1:1: error: empty file"),
        ("- a\n- b\n", "f.yml:1:1: error: the top level must be a mapping"),
        ("just text\n", "the top level must be a mapping"),
        ("a: 1\n---\nb: 2\n", "f.yml:2:1: error: YAML syntax error: a flow file holds one YAML document"),
        ("a: [1, 2\n", "f.yml:2:1: error: YAML syntax error"),
        ("a: 1\n\tb: 2\n", "indent YAML with spaces"),
    ],
)
def test_fatal_problems_are_one_diagnostic(text: str, expected: str) -> None:
    assert expected in fatal(text)


def test_unsupported_tag() -> None:
    (diag,) = load_yaml("a: !include other.yml\n", "f.yml").diagnostics
    assert "unsupported YAML tag '!include'" in diag.message


def test_format_path() -> None:
    assert format_path(("tasks", 2, "retry", "maxAttempt")) == "tasks[2].retry.maxAttempt"
    assert format_path(()) == ""


def refused_for_nesting(text: str) -> bool:
    """The behaviour, whoever words it (flowd's own depth check or PyYAML's newer built-in limit): one error
    on the file, about nesting, and no crash."""
    with pytest.raises(YamlLoadError) as info:
        load_yaml(text, "f.yml")
    (diag,) = info.value.diagnostics
    return diag.severity == "error" and diag.file == "f.yml" and "nest" in diag.message.lower()


@pytest.mark.parametrize("depth", [150, 200_000])
def test_deep_nesting_is_refused_not_a_crash(depth: int) -> None:
    # 200,000 levels overflow libyaml's C stack (a segfault) unless refused before composing
    assert refused_for_nesting("a: " + "[" * depth + "]" * depth + "\n")


def test_a_nesting_limit_worded_by_pyyaml_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # newer PyYAML releases stop deep documents themselves, before flowd's check words it
    import daemon.language.yamlsafe as yamlsafe

    def pyyaml_refuses(text: str, limit: int) -> None:
        raise yaml.parser.ParserError(
            None, None, "exceeded maximum nesting depth", yaml.Mark("f", 0, 0, 3, None, None)
        )

    monkeypatch.setattr(yamlsafe, "_check_depth", pyyaml_refuses)
    assert refused_for_nesting("a: " + "[" * 150 + "]" * 150 + "\n")


def test_moderate_nesting_loads() -> None:
    assert load_yaml("a: " + "[" * 50 + "]" * 50 + "\n").data["a"]
