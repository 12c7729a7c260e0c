"""The key-value store: JSON values, replacement, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_put_get_replace_delete(store: Store) -> None:
    store.kv.put("ns", "cfg", {"a": [1, 2]}, now=T0)
    assert store.kv.get("ns", "cfg", now=T0) == {"a": [1, 2]}
    store.kv.put("ns", "cfg", "text", now=T0)
    assert store.kv.get("ns", "cfg", now=T0) == "text"
    assert store.kv.get("other", "cfg", "dflt", now=T0) == "dflt"
    assert store.kv.delete("ns", "cfg")
    assert not store.kv.delete("ns", "cfg")


def test_json_null_is_a_value(store: Store) -> None:
    store.kv.put("ns", "nothing", None, now=T0)
    entry = store.kv.entry("ns", "nothing", now=T0)
    assert entry is not None and entry.value is None
    assert store.kv.get("ns", "nothing", "dflt", now=T0) is None


def test_expiry(store: Store) -> None:
    store.kv.put("ns", "short", 1, now=T0, expires_at=T0 + timedelta(seconds=10))
    store.kv.put("ns", "long", 2, now=T0)
    assert store.kv.keys("ns", now=T0) == ["long", "short"]
    later = T0 + timedelta(seconds=10)
    assert store.kv.get("ns", "short", now=later) is None
    assert store.kv.keys("ns", now=later) == ["long"]
    assert store.kv.purge_expired(later) == 1
