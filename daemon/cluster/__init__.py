"""Several daemons on one PostgreSQL: node roles and heartbeats (``nodes``), one leader for the singleton
duties (a PostgreSQL advisory lock), LISTEN/NOTIFY wake-ups, the source a store follows, start-up guards,
and the internal storage kept in the database.

No consensus service and no broker: the database the daemons already share is the only coordinator.
"""
