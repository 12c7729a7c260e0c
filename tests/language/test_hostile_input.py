"""Hostile flow files get ordinary diagnostics, never "internal error ... RecursionError/ValueError"."""

from __future__ import annotations

from daemon.language.validate import validate_text

HEAD = "id: f\nnamespace: n\ntasks:\n"
LOG = "  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"


def _messages(text: str) -> list[str]:
    result = validate_text(text, "f.yml")
    assert result.flow is None
    messages = [d.message for d in result.diagnostics if d.severity == "error"]
    assert messages and not any("internal error" in m for m in messages), messages
    return messages


def test_deeply_nested_expression() -> None:
    nested = '"{{ ' + "(" * 100 + "1" + ")" * 100 + ' }}"'
    assert any("nests too deeply" in m for m in _messages(HEAD + LOG.format(message=nested)))


def test_integer_over_4300_digits_in_yaml() -> None:
    assert any("more than 4300 digits" in m for m in _messages(HEAD + LOG.format(message="9" * 5000)))


def test_integer_over_4300_digits_in_an_expression() -> None:
    text = HEAD + LOG.format(message='"{{ ' + "9" * 5000 + ' }}"')
    assert any("4300 digits" in m for m in _messages(text))


def test_depends_on_cycle_of_a_thousand_tasks() -> None:
    n = 1000
    tasks = "".join(
        f"  - id: t{i}\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        f"    dependsOn: [t{(i + 1) % n}]\n"
        for i in range(n)
    )
    assert any("dependsOn forms a cycle" in m for m in _messages(HEAD + tasks))


def test_a_long_acyclic_chain_is_valid() -> None:
    n = 2000
    tasks = "".join(
        f"  - id: t{i}\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        + (f"    dependsOn: [t{i - 1}]\n" if i else "")
        for i in range(n)
    )
    result = validate_text(HEAD + tasks, "f.yml")
    assert result.flow is not None, [d.message for d in result.diagnostics][:3]
