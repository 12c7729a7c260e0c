"""PostgreSQL Query / Queries / CopyIn against a real server, in a database created for this module."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from daemon.errors import TaskError
from tests.tasks.conftest import Harness, make_task

pytestmark = pytest.mark.integration

PG = "io.kestra.plugin.jdbc.postgresql"


@pytest.fixture(scope="module")
def jdbc_url(pg_admin_url: str) -> Iterator[str]:
    """A Kestra-style JDBC URL of a fresh database, dropped after the module."""
    name = f"flowd_tasks_{uuid.uuid4().hex[:12]}"
    role = urlsplit(pg_admin_url).username
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"jdbc:postgresql://127.0.0.1:5432/{name}?user={role}&ApplicationName=flowd-tests&prepareThreshold=0"
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def query(url: str, sql_text: str, fetch: str = "NONE", **extra: object) -> dict[str, object]:
    return {"type": f"{PG}.Query", "url": url, "sql": sql_text, "fetchType": fetch, **extra}


def test_query_fetch_types(harness: Harness, jdbc_url: str) -> None:
    harness.run(
        make_task(
            {
                "type": f"{PG}.Queries",
                "url": jdbc_url,
                "sql": """
                    DROP TABLE IF EXISTS people;
                    CREATE TABLE people (id int PRIMARY KEY, name text, born date, score numeric(5,2),
                                         tag uuid, seen timestamptz, data jsonb);
                    INSERT INTO people VALUES
                      (1, 'Ada', '1815-12-10', 9.50, '6f1c1b7e-6f54-4c4e-9d55-8f1f6f3f6a11',
                       '2024-01-02 03:04:05+00', '{"k": [1, 2]}'),
                      (2, 'Alan', '1912-06-23', 8, NULL, NULL, NULL);
                """,
            }
        )
    )
    one = harness.run(make_task(query(jdbc_url, "SELECT * FROM people ORDER BY id", "FETCH_ONE"))).outputs
    assert one["size"] == 1
    assert one["row"] == {
        "id": 1,
        "name": "Ada",
        "born": "1815-12-10",
        "score": 9.5,
        "tag": "6f1c1b7e-6f54-4c4e-9d55-8f1f6f3f6a11",
        "seen": "2024-01-02T03:04:05+00:00",
        "data": {"k": [1, 2]},
    }
    rows = harness.run(
        make_task(query(jdbc_url, "SELECT id, score FROM people ORDER BY id", "FETCH"))
    ).outputs
    assert rows == {"rows": [{"id": 1, "score": 9.5}, {"id": 2, "score": 8}], "size": 2}
    none = harness.run(make_task(query(jdbc_url, "SELECT * FROM people WHERE id = 99", "FETCH_ONE")))
    assert none.outputs == {"row": None, "size": 0}
    stored = harness.run(
        make_task(query(jdbc_url, "SELECT id, name FROM people ORDER BY id", "STORE"))
    ).outputs
    assert stored["size"] == 2
    lines = harness.storage.path_of(str(stored["uri"])).read_text().splitlines()
    assert lines == ['{"id": 1, "name": "Ada"}', '{"id": 2, "name": "Alan"}']
    assert not any(harness.workdir.iterdir())


def test_dml_row_count_parameters_and_legacy_fetch(harness: Harness, jdbc_url: str) -> None:
    harness.run(make_task(query(jdbc_url, "CREATE TABLE IF NOT EXISTS notes (id serial, body text)")))
    harness.variables["inputs"] = {"body": "it's 100% fine"}
    inserted = harness.run(
        make_task(
            query(
                jdbc_url,
                "INSERT INTO notes (body) VALUES (:body), (:body::text || ' -- again')",
                parameters={"body": "{{ inputs.body }}"},
            )
        )
    )
    assert inserted.outputs == {"rowCount": 2}
    legacy = make_task(
        {"type": f"{PG}.Query", "url": jdbc_url, "sql": "SELECT count(*) AS n FROM notes", "fetchOne": True}
    )
    assert harness.run(legacy).outputs["row"] == {"n": 2}
    like = harness.run(make_task(query(jdbc_url, "SELECT body FROM notes WHERE body LIKE '%again'", "FETCH")))
    assert like.outputs["rows"] == [{"body": "it's 100% fine -- again"}]


def test_queries_run_in_one_transaction(harness: Harness, jdbc_url: str) -> None:
    harness.run(make_task(query(jdbc_url, "CREATE TABLE IF NOT EXISTS tx (v int)")))
    with pytest.raises(TaskError, match=r"postgres:.*division by zero"):
        harness.run(
            make_task(
                {"type": f"{PG}.Queries", "url": jdbc_url, "sql": "INSERT INTO tx VALUES (1); SELECT 1/0;"}
            )
        )
    count = harness.run(make_task(query(jdbc_url, "SELECT count(*) AS n FROM tx", "FETCH_ONE")))
    assert count.outputs["row"] == {"n": 0}
    last = harness.run(
        make_task(
            {
                "type": f"{PG}.Queries",
                "url": jdbc_url,
                "sql": "INSERT INTO tx VALUES (1), (2); SELECT sum(v) AS total FROM tx",
                "fetchType": "FETCH_ONE",
            }
        )
    )
    assert last.outputs == {"row": {"total": 3}, "size": 1}


def test_username_property_and_bad_url(harness: Harness, jdbc_url: str) -> None:
    role = jdbc_url.split("user=")[1].split("&")[0]
    plain = jdbc_url.replace("jdbc:", "").split("?")[0]
    result = harness.run(make_task(query(plain, "SELECT current_user AS u", "FETCH_ONE", username=role)))
    assert result.outputs["row"] == {"u": role}
    with pytest.raises(TaskError, match="not a PostgreSQL URL"):
        harness.run(make_task(query("jdbc:mysql://x/y?password=secret", "SELECT 1")))


def test_cancel_stops_a_long_query(harness: Harness, jdbc_url: str) -> None:
    async def go() -> str:
        ctx = harness.context()
        from daemon.tasks.registry import PLUGINS

        task = make_task(query(jdbc_url, "SELECT pg_sleep(60)"))
        running = asyncio.ensure_future(PLUGINS[task.type](task, ctx))
        await asyncio.sleep(0.5)
        ctx.cancelled.set()
        return (await running).state

    assert asyncio.run(go()) == "KILLED"


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["name;city;amount", *rows]) + "\n")
    return path


def test_copy_in_csv_then_merge_with_md5_key_is_idempotent(
    harness: Harness, jdbc_url: str, tmp_path: Path
) -> None:
    harness.run(
        make_task(
            {
                "type": f"{PG}.Queries",
                "url": jdbc_url,
                "sql": """
                    CREATE TABLE IF NOT EXISTS sales_staging (unique_row_id text, name text, city text,
                                                              amount text);
                    CREATE TABLE IF NOT EXISTS sales (unique_row_id text PRIMARY KEY, name text, city text,
                                                      amount numeric);
                """,
            }
        )
    )
    csv = _write_csv(tmp_path / "sales.csv", ["Ann;Oslo;10.5", "Bob;;7", 'Cy;"Rio; de J";1'])
    uri = harness.storage.put_file("exec0", "r0", "sales.csv", csv)
    etl = [
        {"type": f"{PG}.Query", "url": jdbc_url, "sql": "TRUNCATE sales_staging"},
        {
            "type": f"{PG}.CopyIn",
            "url": jdbc_url,
            "from": uri,
            "table": "public.Sales_Staging",
            "format": "CSV",
            "header": True,
            "delimiter": ";",
            "columns": ["name", "city", "amount"],
            "forceNull": ["city"],
        },
        {
            "type": f"{PG}.Query",
            "url": jdbc_url,
            "sql": "UPDATE sales_staging SET unique_row_id = md5(coalesce(name, '') || coalesce(city, '') "
            "|| coalesce(amount, ''))",
        },
        {
            "type": f"{PG}.Query",
            "url": jdbc_url,
            "sql": """
                MERGE INTO sales AS s USING sales_staging AS st ON s.unique_row_id = st.unique_row_id
                WHEN MATCHED THEN UPDATE SET name = st.name
                WHEN NOT MATCHED THEN INSERT VALUES (st.unique_row_id, st.name, st.city, st.amount::numeric)
            """,
        },
    ]
    copied = [harness.run(make_task({"id": f"s{i}", **step})) for i, step in enumerate(etl)]
    assert copied[1].outputs == {"rowCount": 3}
    again = [harness.run(make_task({"id": f"s{i}", **step})) for i, step in enumerate(etl)]
    assert again[1].outputs == {"rowCount": 3}
    total = harness.run(
        make_task(query(jdbc_url, "SELECT count(*) AS n, sum(amount) AS s FROM sales", "FETCH_ONE"))
    )
    assert total.outputs["row"] == {"n": 3, "s": 18.5}
    nulls = harness.run(make_task(query(jdbc_url, "SELECT name FROM sales WHERE city IS NULL", "FETCH")))
    assert nulls.outputs["rows"] == [{"name": "Bob"}]


def test_copy_in_text_from_local_path_and_errors(harness: Harness, jdbc_url: str) -> None:
    harness.run(make_task(query(jdbc_url, 'CREATE TABLE IF NOT EXISTS "Mixed" (a int, b text)')))
    (harness.workdir / "data.tsv").write_text("1\tx\n2\t\\N\n")
    task = make_task({"type": f"{PG}.CopyIn", "url": jdbc_url, "from": "data.tsv", "table": '"Mixed"'})
    assert harness.run(task).outputs == {"rowCount": 2}
    with pytest.raises(TaskError, match="no such file"):
        harness.run(make_task({"type": f"{PG}.CopyIn", "url": jdbc_url, "from": "nope.csv", "table": "t"}))
    with pytest.raises(TaskError, match="invalid name"):
        harness.run(make_task({"type": f"{PG}.CopyIn", "url": jdbc_url, "from": "data.tsv", "table": "a b"}))
