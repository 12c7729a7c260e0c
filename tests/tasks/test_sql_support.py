"""Pure helpers of the SQL tasks: JDBC URLs, JSON-safe values, named parameters, COPY statements."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from psycopg.conninfo import conninfo_to_dict

from daemon.errors import TaskError
from daemon.tasks.jdbc_url import conninfo
from daemon.tasks.postgres import named_parameters
from daemon.tasks.postgres_copy import table_identifier
from daemon.tasks.sql_results import json_safe


def parsed(url: str, **kw: str) -> dict[str, object]:
    return dict(conninfo_to_dict(conninfo(url, **kw)))


def test_jdbc_url_to_conninfo() -> None:
    assert parsed("jdbc:postgresql://db.local:5433/sales?user=u&password=p%26w&ssl=true&loggerLevel=OFF") == {
        "host": "db.local",
        "port": "5433",
        "dbname": "sales",
        "user": "u",
        "password": "p&w",
        "sslmode": "require",
    }
    assert parsed("jdbc:postgresql://h/db?currentSchema=etl", username="me", password="pw") == {
        "host": "h",
        "dbname": "db",
        "options": "-c search_path=etl",
        "user": "me",
        "password": "pw",
    }
    assert parsed("postgresql://a:b@h1:1,[::1]:2/x") == {
        "host": "h1,::1",
        "port": "1,2",
        "dbname": "x",
        "user": "a",
        "password": "b",
    }
    assert parsed("jdbc:postgresql:mydb") == {"dbname": "mydb"}


def test_bad_url_does_not_leak_password() -> None:
    with pytest.raises(TaskError) as info:
        conninfo("jdbc:mysql://h/db?password=hunter2")
    assert "hunter2" not in str(info.value)


def test_json_safe_values() -> None:
    value = {
        "d": dt.date(2024, 1, 2),
        "t": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "n": [Decimal("10"), Decimal("1.25"), Decimal("NaN")],
        "u": uuid.UUID(int=1),
        "b": b"\x00\x01",
        "i": dt.timedelta(minutes=1),
        "f": float("inf"),
    }
    assert json_safe(value) == {
        "d": "2024-01-02",
        "t": "2024-01-02T03:04:05+00:00",
        "n": [10, 1.25, "NaN"],
        "u": "00000000-0000-0000-0000-000000000001",
        "b": "AAE=",
        "i": 60.0,
        "f": "inf",
    }


def test_named_parameters() -> None:
    assert (
        named_parameters("SELECT :a::int, ':b', \"c:d\", x % 2 -- :e\nFROM t WHERE y = :f_1")
        == "SELECT %(a)s::int, ':b', \"c:d\", x %% 2 -- :e\nFROM t WHERE y = %(f_1)s"
    )


def test_table_identifier() -> None:
    assert table_identifier("Public.Sales").as_string() == '"public"."sales"'
    assert table_identifier('etl."Odd.Name"').as_string() == '"etl"."Odd.Name"'
    with pytest.raises(TaskError):
        table_identifier("t; DROP TABLE x")
