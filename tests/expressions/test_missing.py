"""A missing variable says what is missing, why where flowd knows, and in which expression."""

from __future__ import annotations

import pytest

from daemon.expressions import ExpressionError
from daemon.expressions.render import render


def message(template: str, **context: object) -> str:
    with pytest.raises(ExpressionError) as info:
        render(template, context)
    return info.value.message


def test_envs_say_which_environment_variable_is_read() -> None:
    text = message("jdbc {{ envs.pg_url }}", envs={})
    assert text.startswith("envs.pg_url is not set: it is read from the environment variable ENV_PG_URL")
    assert "daemon's environment" in text and "(in {{ envs.pg_url }})" in text
    assert "Missing variable" not in text


def test_trigger_in_a_flow_started_by_hand() -> None:
    text = message("report for {{ trigger.date | date('yyyy-MM-dd') }}", trigger={})
    assert text.startswith("trigger.date is not defined: this flow was started by hand, not by its schedule")
    assert "{{ trigger.date | date('yyyy-MM-dd') }}" in text


def test_trigger_with_variables_missing_one_is_a_plain_missing_variable() -> None:
    text = message("{{ trigger.nope }}", trigger={"date": "2024-01-01"})
    assert text == "Missing variable: 'trigger.nope' (in {{ trigger.nope }})"


def test_other_variables_name_the_expression() -> None:
    assert message("a {{ inputs.x }} b {{ vars.y }}", inputs={}, vars={"y": 1}) == (
        "Missing variable: 'inputs.x' (in {{ inputs.x }})"
    )


def test_a_missing_secret_says_where_it_is_read_from() -> None:
    from daemon.engine.services import SecretAccessor, Secrets

    secrets = Secrets({})
    text = message("{{ secret('PG_PASSWORD') }}", secret=SecretAccessor(secrets.get))
    assert text.startswith("secret 'PG_PASSWORD' is not set in the daemon's environment (SECRET_PG_PASSWORD")
    assert "FLOWD_SECRET_PG_PASSWORD" in text and "TaskError" not in text
