"""The run store: SQLAlchemy Core tables, Alembic migrations, repositories, internal file storage.

``Store.open(url)`` builds the engine and migrates; repositories hang off the store. Every repository
method takes an optional keyword ``conn`` (from ``store.begin()``) and returns frozen dataclasses.
"""

from daemon.store.executions import ACTIVE_STATES, Execution
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.store.heartbeats import Heartbeat
from daemon.store.ids import new_id
from daemon.store.kv import KvEntry
from daemon.store.logs import LogEntry, LogLine
from daemon.store.storage import InternalStorage
from daemon.store.store import Store
from daemon.store.syncs import SyncRun
from daemon.store.task_runs import TaskRun, TaskRunUpdate
from daemon.store.triggers import TriggerState

__all__ = [
    "ACTIVE_STATES",
    "DeployedFlow",
    "Execution",
    "FlowRevision",
    "Heartbeat",
    "InternalStorage",
    "KvEntry",
    "LogEntry",
    "LogLine",
    "Store",
    "SyncRun",
    "TaskRun",
    "TaskRunUpdate",
    "TriggerState",
    "new_id",
]
