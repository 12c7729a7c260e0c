"""Runners execute script tasks: a local process or a Docker container, streaming lines as they come.

``runner_for(kind)`` picks one; both speak Kestra's ``::{"outputs": ...}::`` protocol (``protocol.py``).
The docker module (and the docker SDK) is imported only when a DOCKER runner is asked for.
"""

from daemon.runners.factory import runner_for
from daemon.runners.spec import LineHandler, Runner, RunResult, ScriptSpec

__all__ = ["LineHandler", "RunResult", "Runner", "ScriptSpec", "runner_for"]
