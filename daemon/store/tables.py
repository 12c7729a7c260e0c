"""The schema, as SQLAlchemy Core metadata. ``migrations/`` must produce exactly this (a test checks it).

Design notes:
- Identity is natural where it exists (namespace, flow_id[, trigger_id]); executions and task runs carry
  string ids made by the caller (``daemon.store.ids.new_id``), so rows can be prepared in memory and
  inserted in batches.
- JSON columns hold plain data; dates inside them are ISO-8601 strings.
- ``schedule_ticks`` has a UNIQUE key on (namespace, flow_id, trigger_id, scheduled_date): a tick is
  recorded once, whoever races for it.
"""

from __future__ import annotations

import sqlalchemy as sa

from daemon.store.columns import UTCDateTime, json_type

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

# A 64-bit autoincrement key; SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

NAME = 255  # namespaces, flow ids, task ids
ID = 64  # execution / task run / daemon ids

# partial-index predicates for adoption, as SQL text: PostgreSQL uses a partial index only for a query whose
# WHERE implies its predicate, which a literal copy always does (the states are ``store.ACTIVE_STATES``)
_ACTIVE = "state IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSED', 'RETRYING', 'RESTARTED', 'KILLING')"
ADOPTABLE = f"owner_id IS NULL AND {_ACTIVE}"
OWNED_ACTIVE = f"owner_id IS NOT NULL AND {_ACTIVE}"
STATE = 32
HASH = 64  # sha256 hex
COMMIT = 64  # git object id (sha1 or sha256 hex)

flows = sa.Table(
    "flows",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("flow_id", sa.String(NAME), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("hash", sa.String(HASH), nullable=False),
    sa.Column("path", sa.Text, nullable=True),
    sa.Column("commit", sa.String(COMMIT), nullable=True),
    sa.Column("sync_state", sa.String(STATE), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

flow_revisions = sa.Table(
    "flow_revisions",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("flow_id", sa.String(NAME), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("hash", sa.String(HASH), nullable=False),
    sa.Column("path", sa.Text, nullable=True),
    sa.Column("commit", sa.String(COMMIT), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
)

syncs = sa.Table(
    "syncs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("ref", sa.String(NAME), nullable=True),
    sa.Column("commit_attempted", sa.String(COMMIT), nullable=True),
    sa.Column("commit_applied", sa.String(COMMIT), nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("result", sa.String(STATE), nullable=True),
    sa.Column("counts", json_type(), nullable=True),
    sa.Column("plan", json_type(), nullable=True),
    sa.Column("errors", json_type(), nullable=True),
    # polls that changed nothing after this one, and when the last of them finished (the syncs page)
    sa.Column("unchanged_polls", sa.Integer, nullable=True),
    sa.Column("unchanged_until", UTCDateTime, nullable=True),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("namespace", sa.String(NAME), nullable=False),
    sa.Column("flow_id", sa.String(NAME), nullable=False),
    sa.Column("flow_revision", sa.Integer, nullable=False),
    sa.Column("state", sa.String(STATE), nullable=False),
    sa.Column("histories", json_type(), nullable=False),
    sa.Column("inputs", json_type(), nullable=True),
    sa.Column("outputs", json_type(), nullable=True),
    sa.Column("labels", json_type(), nullable=True),
    sa.Column("trigger", json_type(), nullable=True),
    sa.Column("parent_execution_id", sa.String(ID), nullable=True),
    sa.Column("parent_task_run_id", sa.String(ID), nullable=True),
    sa.Column("start_date", UTCDateTime, nullable=False),
    sa.Column("end_date", UTCDateTime, nullable=True),
    sa.Column("owner_id", sa.String(ID), nullable=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    # fencing: bumped by each adoption; an owner's writes say which epoch they belong to
    sa.Column("epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "namespace", "flow_id", "start_date"),
    sa.Index(None, "state"),
    sa.Index(None, "parent_execution_id"),
    sa.Index(None, "end_date"),  # retention (daemon.store.retention)
    # keyset pages of the executions search, newest first (all, by state, by flow id alone)
    sa.Index(None, "start_date", "id"),
    sa.Index(None, "state", "start_date", "id"),
    sa.Index(None, "flow_id", "start_date"),
    # adoption (migration 0007, the same predicate texts): the oldest executions waiting for a driver, and
    # the owned active ones by heartbeat (a stale owner's)
    sa.Index(
        "ix_executions_adoptable",
        "start_date",
        postgresql_where=sa.text(ADOPTABLE),
        sqlite_where=sa.text(ADOPTABLE),
    ),
    sa.Index(
        "ix_executions_owned_active",
        "heartbeat_at",
        postgresql_where=sa.text(OWNED_ACTIVE),
        sqlite_where=sa.text(OWNED_ACTIVE),
    ),
)

task_runs = sa.Table(
    "task_runs",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column(
        "execution_id", sa.String(ID), sa.ForeignKey("executions.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("task_id", sa.String(NAME), nullable=False),
    sa.Column("parent_task_run_id", sa.String(ID), nullable=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("iteration", sa.Integer, nullable=True),
    sa.Column("state", sa.String(STATE), nullable=False),
    sa.Column("histories", json_type(), nullable=False),
    sa.Column("attempts", json_type(), nullable=False),
    sa.Column("outputs", json_type(), nullable=True),
    sa.Column("ready_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(ID), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Index(None, "execution_id"),
    # the claim query: state = 'CREATED' AND ready_at <= now ORDER BY ready_at
    sa.Index(None, "state", "ready_at"),
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "execution_id", sa.String(ID), sa.ForeignKey("executions.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("task_run_id", sa.String(ID), nullable=True),
    # denormalised from the task run so `flowd logs --task` needs no join
    sa.Column("task_id", sa.String(NAME), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index(None, "execution_id", "id"),
    sa.Index(None, "timestamp", "id"),  # the logs search by time range
)

triggers = sa.Table(
    "triggers",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("flow_id", sa.String(NAME), primary_key=True),
    sa.Column("trigger_id", sa.String(NAME), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(HASH), nullable=False),
    sa.Column("next_date", UTCDateTime, nullable=True),
    sa.Column("last_date", UTCDateTime, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False),  # effective: the override, else the Git source's
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # an operator's disable (TRUE) or enable (FALSE) that differs from the source; NULL: follow the source
    sa.Column("disabled_override", sa.Boolean, nullable=True),
    sa.Index(None, "next_date"),
)

schedule_ticks = sa.Table(
    "schedule_ticks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(NAME), nullable=False),
    sa.Column("flow_id", sa.String(NAME), nullable=False),
    sa.Column("trigger_id", sa.String(NAME), nullable=False),
    sa.Column("scheduled_date", UTCDateTime, nullable=False),
    sa.Column("execution_id", sa.String(ID), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("namespace", "flow_id", "trigger_id", "scheduled_date"),
    sa.Index(None, "scheduled_date"),  # retention
)

kv = sa.Table(
    "kv",
    metadata,
    sa.Column("namespace", sa.String(NAME), primary_key=True),
    sa.Column("key", sa.String(NAME), primary_key=True),
    # JSON null is a legitimate value here, distinct from "no such key"
    sa.Column("value", json_type(none_as_null=False), nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# every version of every namespace file (``_files/`` folders of the flows repository); a deletion is a
# version with ``deleted`` true and no content, so history is kept like flow revisions
namespace_files = sa.Table(
    "namespace_files",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(NAME), nullable=False),
    sa.Column("path", sa.String(1024), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("commit", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("namespace", "path", "revision"),
)

heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("daemon_id", sa.String(ID), primary_key=True),
    sa.Column("host", sa.String(NAME), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
)

# Work that follows an execution's end (flow triggers), inserted in the transaction that records the end and
# deleted once done: ``key`` (upstream execution id + kind) makes it at most one row per end.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("key", sa.String(NAME), primary_key=True),
    sa.Column("execution_id", sa.String(ID), nullable=False),
    sa.Column("kind", sa.String(STATE), nullable=False),
    sa.Column("payload", json_type(), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index(None, "due_at"),
)


# --- cluster (several daemons on one PostgreSQL) ------------------------------------------------------------

nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("node_id", sa.String(ID), primary_key=True),
    sa.Column("host", sa.String(NAME), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("roles", sa.String(NAME), nullable=False),  # comma-separated, sorted
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("listen", sa.String(NAME), nullable=True),
    sa.Column("leader", sa.Boolean, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("last_beat", UTCDateTime, nullable=False),
)

# one row (id = 1): the flow source this store follows; a sync from another source is refused
store_source = sa.Table(
    "store_source",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("ref", sa.String(NAME), nullable=True),
    sa.Column("path", sa.Text, nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# internal storage in the database (FLOWD_STORAGE=database): a file row, then its bytes in numbered chunks
storage_files = sa.Table(
    "storage_files",
    metadata,
    sa.Column("uri", sa.String(2048), primary_key=True),
    sa.Column("execution_id", sa.String(ID), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("chunks", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "execution_id"),
)

storage_chunks = sa.Table(
    "storage_chunks",
    metadata,
    sa.Column(
        "uri", sa.String(2048), sa.ForeignKey("storage_files.uri", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
