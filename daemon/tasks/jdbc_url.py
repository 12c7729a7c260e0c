"""Kestra's ``jdbc:postgresql://`` URLs (and plain ``postgresql://`` ones) as libpq connection strings."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from psycopg.conninfo import make_conninfo

from daemon.errors import TaskError

# JDBC driver parameter -> libpq keyword; libpq keywords themselves pass through
_JDBC_PARAMS = {
    "user": "user",
    "password": "password",
    "applicationname": "application_name",
    "connecttimeout": "connect_timeout",
    "sslmode": "sslmode",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "sslrootcert": "sslrootcert",
    "options": "options",
}
_LIBPQ_PARAMS = frozenset(
    {
        "application_name",
        "connect_timeout",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
        "sslpassword",
        "gssencmode",
        "channel_binding",
        "client_encoding",
    }
)


def conninfo(url: str, *, username: str | None = None, password: str | None = None) -> str:
    """A libpq conninfo for ``url``; ``username``/``password`` (Kestra's properties) win over the URL's.

    JDBC-only parameters libpq does not know are dropped; ``ssl=true`` means ``sslmode=require`` and
    ``currentSchema`` becomes the session's ``search_path``.
    """
    raw = url.strip()
    if raw.startswith("jdbc:"):
        raw = raw[len("jdbc:") :]
    if raw.startswith("postgresql:") and not raw.startswith("postgresql://"):
        raw = "postgresql:///" + raw[len("postgresql:") :].lstrip("/")  # jdbc:postgresql:dbname
    parts = urlsplit(raw)
    if parts.scheme not in ("postgresql", "postgres"):
        raise TaskError(f"postgres: not a PostgreSQL URL: {_redact(url)}")
    params: dict[str, str] = {}
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    if userinfo:
        user, _, secret = userinfo.partition(":")
        params["user"] = unquote(user)
        if secret:
            params["password"] = unquote(secret)
    hosts, ports = _hosts(hostinfo)
    if hosts:
        params["host"] = ",".join(hosts)
    if any(ports):
        params["port"] = ",".join(ports)
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.lstrip("/"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        lower = key.lower()
        if lower in _JDBC_PARAMS:
            params[_JDBC_PARAMS[lower]] = value
        elif lower in _LIBPQ_PARAMS:
            params[lower] = value
        elif lower == "ssl" and value.lower() == "true":
            params.setdefault("sslmode", "require")
        elif lower == "currentschema":
            params["options"] = f"-c search_path={value}"
    if username:
        params["user"] = username
    if password:
        params["password"] = password
    return make_conninfo(**params)


def _hosts(hostinfo: str) -> tuple[list[str], list[str]]:
    """``h1:5432,[::1]:5433`` -> (["h1", "::1"], ["5432", "5433"])."""
    hosts: list[str] = []
    ports: list[str] = []
    for item in filter(None, hostinfo.split(",")):
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.lstrip(":")
        else:
            host, _, port = item.partition(":")
        hosts.append(unquote(host))
        ports.append(port)
    return hosts, ports


def _redact(url: str) -> str:
    # never echo a password in an error message
    head, sep, _ = url.partition("?")
    return head + (sep + "..." if sep else "")
