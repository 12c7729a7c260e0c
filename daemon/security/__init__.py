"""Hardening the daemon's process against the tasks it runs (see ``hardening`` and docs/security.md)."""
