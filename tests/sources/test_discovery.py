"""Flow file discovery rules and --path handling."""

from __future__ import annotations

import pytest

from daemon.errors import SourceError
from daemon.sources.discovery import (
    is_flow_candidate,
    is_under,
    is_yaml_name,
    normalize_subpath,
    resolve_link,
)


@pytest.mark.parametrize(
    "text",
    [
        "id: a\nnamespace: n\ntasks: []\n",
        "# comment\nnamespace: n\n\ntasks:\n  - id: x\nid: a\n",
        "\"id\": a\n'namespace': n\ntasks  : []\n",
        "\ufeffid: a\nnamespace: n\ntasks: []\n",
        "id: a\r\nnamespace: n\r\ntasks: []\r\n",
        # passes the cheap check although it is not valid YAML: the validator reports it later
        "id: a\nnamespace: n\ntasks: [\n",
    ],
)
def test_candidates(text: str) -> None:
    assert is_flow_candidate(text.encode())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "id: a\nnamespace: n\n",  # no tasks
        "key: 1\n  id: a\n  namespace: n\n  tasks: []\n",  # nested keys are not top-level
        "{id: a, namespace: n, tasks: []}\n",  # flow style is not discovered
        "identifier: a\nnamespaces: n\ntasks: []\n",
        "version: 3\nservices:\n  web: {}\n",
        "# id: a\n# namespace: n\n# tasks: []\n",
    ],
)
def test_not_candidates(text: str) -> None:
    assert not is_flow_candidate(text.encode())


def test_yaml_names() -> None:
    assert is_yaml_name("a/b.yml") and is_yaml_name("B.YAML")
    assert not is_yaml_name("a.yml.bak") and not is_yaml_name("a.json") and not is_yaml_name("yml")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [(None, ""), ("", ""), (".", ""), ("/", ""), ("flows/", "flows"), ("./a//b/", "a/b"), ("a/../b", "b")],
)
def test_normalize_subpath(raw: str | None, clean: str) -> None:
    assert normalize_subpath(raw) == clean


@pytest.mark.parametrize("raw", ["..", "../x", "a/../../x"])
def test_subpath_outside_is_an_error(raw: str) -> None:
    with pytest.raises(SourceError, match="outside"):
        normalize_subpath(raw)


def test_is_under() -> None:
    assert is_under("flows/a.yml", "flows") and is_under("x.yml", "")
    assert not is_under("flowsx/a.yml", "flows") and not is_under("flows", "flows")


@pytest.mark.parametrize(
    ("link", "target", "resolved"),
    [
        ("flows/a.yml", "b.yml", "flows/b.yml"),
        ("flows/a.yml", "../shared/b.yml", "shared/b.yml"),
        ("flows/a", "..", ""),
        ("a.yml", "../a.yml", None),
        ("flows/a.yml", "../../etc/passwd", None),
        ("flows/a.yml", "/etc/passwd", None),
    ],
)
def test_resolve_link(link: str, target: str, resolved: str | None) -> None:
    assert resolve_link(link, target) == resolved


@pytest.mark.parametrize(
    ("text", "worth_validating"),
    [
        ("{id: a, namespace: n, tasks: []}\n", True),
        ("  id: a\n  namespace: n\n  tasks: []\n", True),
        ("version: 3\nservices:\n  web: {}\n", False),
        ("", False),
    ],
)
def test_may_declare_flow(text: str, worth_validating: bool) -> None:
    from daemon.sources.discovery import may_declare_flow

    assert may_declare_flow(text.encode()) is worth_validating
