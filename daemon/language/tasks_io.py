"""Tasks that talk to the outside: HTTP, PostgreSQL, DuckDB, Slack."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from daemon.language.aliases import CORE
from daemon.language.common import new_dict, new_list
from daemon.language.namespace_files import NamespaceFiles
from daemon.language.task_base import TaskBase

FetchType = Literal["NONE", "FETCH", "FETCH_ONE", "STORE"]
HTTP_IGNORED = frozenset({"options", "sslOptions", "encryptBody", "auth"})


def _url_to_uri(data: Any) -> Any:
    # the seed material writes http requests with ``url``; Kestra calls it ``uri``
    if isinstance(data, dict) and "url" in data and "uri" not in data:
        data = dict(data)
        data["uri"] = data.pop("url")
    return data


class HttpTask(TaskBase):
    """What Kestra's HTTP tasks share; the seed material's ``url`` is read as ``uri``."""

    IGNORED = HTTP_IGNORED
    uri: str
    method: str = "GET"
    body: Any = None
    headers: dict[str, str] = Field(default_factory=new_dict)

    @model_validator(mode="before")
    @classmethod
    def _url(cls, data: Any) -> Any:
        return _url_to_uri(data)


class HttpRequestTask(HttpTask):
    TYPE = f"{CORE}.http.Request"
    formData: dict[str, Any] | None = None
    contentType: str | None = None
    allowFailed: bool = False
    failOnEmptyResponse: bool = False


class HttpDownloadTask(HttpTask):
    TYPE = f"{CORE}.http.Download"
    failOnEmptyResponse: bool = True


class JdbcTask(TaskBase):
    """Connection properties of Kestra's JDBC tasks (``jdbc:postgresql://`` URLs accepted)."""

    IGNORED = frozenset(
        {"fetchSize", "timeZoneId", "autoCommit", "sslMode", "sslRootCert", "sslCert", "sslKey"}
    )
    url: str
    username: str | None = None
    password: str | None = None


def _legacy_fetch(data: Any) -> Any:
    # before fetchType, Kestra had boolean fetch / fetchOne / store
    if not isinstance(data, dict) or "fetchType" in data:
        return data
    for flag, kind in (("store", "STORE"), ("fetchOne", "FETCH_ONE"), ("fetch", "FETCH")):
        if data.get(flag) is True:
            data = {k: v for k, v in data.items() if k not in {"store", "fetchOne", "fetch"}}
            data["fetchType"] = kind
            return data
    return {k: v for k, v in data.items() if k not in {"store", "fetchOne", "fetch"}}


class FetchingTask(TaskBase):
    """An SQL task that may fetch rows (``fetchType``, or the legacy boolean flags)."""

    sql: str
    fetchType: FetchType = "NONE"

    @model_validator(mode="before")
    @classmethod
    def _fetch(cls, data: Any) -> Any:
        return _legacy_fetch(data)


class PostgresQueryTask(JdbcTask, FetchingTask):
    TYPE = "io.kestra.plugin.jdbc.postgresql.Query"
    parameters: dict[str, Any] | None = None


class PostgresQueriesTask(JdbcTask, FetchingTask):
    TYPE = "io.kestra.plugin.jdbc.postgresql.Queries"
    parameters: dict[str, Any] | None = None
    transaction: bool = True


class PostgresCopyInTask(JdbcTask):
    TYPE = "io.kestra.plugin.jdbc.postgresql.CopyIn"
    table: str
    from_: str = Field(alias="from")
    format: Literal["TEXT", "CSV", "BINARY"] = "TEXT"
    header: bool = False
    delimiter: str | None = None
    quote: str | None = None
    escape: str | None = None
    nullString: str | None = None
    encoding: str | None = None
    columns: list[str] | None = None
    forceNotNull: list[str] | None = None
    forceNull: list[str] | None = None
    oids: bool | None = None
    freeze: bool | None = None


class DuckDbQueryTask(FetchingTask):
    TYPE = "io.kestra.plugin.jdbc.duckdb.Query"
    IGNORED = frozenset({"timeZoneId", "autoCommit", "fetchSize", "username", "password"})
    url: str | None = None
    databaseUri: str | None = None
    databaseFile: str | None = None  # the older name: a local path
    outputDbFile: bool = False
    parameters: dict[str, Any] | None = None
    inputFiles: dict[str, str] | str | None = None
    outputFiles: list[str] = Field(default_factory=new_list)
    namespaceFiles: NamespaceFiles | None = None


class SlackIncomingWebhookTask(TaskBase):
    TYPE = "io.kestra.plugin.notifications.slack.SlackIncomingWebhook"
    url: str
    payload: str | dict[str, Any] | None = None
    messageText: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_message(cls, data: Any) -> Any:
        # the old core Slack task took a plain ``message``
        if isinstance(data, dict) and "message" in data and "messageText" not in data:
            data = dict(data)
            data["messageText"] = data.pop("message")
        return data


IO_TASKS: list[type[TaskBase]] = [
    HttpRequestTask,
    HttpDownloadTask,
    PostgresQueryTask,
    PostgresQueriesTask,
    PostgresCopyInTask,
    DuckDbQueryTask,
    SlackIncomingWebhookTask,
]
