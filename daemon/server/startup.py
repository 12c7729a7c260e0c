"""What ``flowd run`` checks and says before anything else starts.

- The listening address is bound first, before the store is opened or the source synced: a busy port is one
  line naming it and what to do, and a non-zero exit (the bound socket is handed to uvicorn).
- An API reachable from other machines needs ``FLOWD_API_TOKEN``: a non-loopback address without one is
  refused unless ``FLOWD_ALLOW_ANONYMOUS=1`` (then a warning).
- Alembic's migration lines go to DEBUG: a first start should not print ten lines about revisions.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket

from daemon.errors import FlowdError

log = logging.getLogger("flowd.daemon")


class StartupError(FlowdError):
    """The daemon cannot start."""

    exit_code = 2


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; any other name or address may be reachable."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening), or a ``StartupError`` saying what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(_bind_message(host, port, exc)) from None
    return sock


def _bind_message(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: port {port} is already in use (another flowd daemon?). Stop that "
            f"process, or choose another port: flowd run --listen {host}:PORT (or FLOWD_LISTEN)"
        )
    if exc.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: port {port} needs privileges; choose a port above 1023 with --listen"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine; check --listen"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def check_exposure(host: str, *, api_token: str | None, allow_anonymous: bool) -> str | None:
    """Refuse an API open to the network without a token; returns the warning to print when it is allowed
    anyway (``FLOWD_ALLOW_ANONYMOUS=1``), None when there is nothing to say."""
    if api_token or is_loopback(host):
        return None
    if not allow_anonymous:
        raise StartupError(
            f"refusing to listen on {host} without FLOWD_API_TOKEN: anyone who can reach it could run and "
            "kill flows. Set FLOWD_API_TOKEN, listen on 127.0.0.1 (--listen 127.0.0.1:PORT), or set "
            "FLOWD_ALLOW_ANONYMOUS=1 if a proxy in front of flowd authenticates requests"
        )
    return (
        f"FLOWD_ALLOW_ANONYMOUS=1: the API and UI on {host} accept requests without a token "
        "(anyone who can reach them can run and kill flows)"
    )


class _AlembicAsDebug(logging.Filter):
    """Turns Alembic's INFO records into DEBUG ones, shown only when the root logger shows DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("alembic") and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def quiet_migrations() -> None:
    """Alembic logs each migration (and its plugins) at INFO; the daemon's terminal keeps them at DEBUG.
    Call after the root handlers are set up (``logging.basicConfig``)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_AlembicAsDebug())
