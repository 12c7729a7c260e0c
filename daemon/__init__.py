"""flowd: a Git-synced, declarative workflow orchestrator for Kestra-style flows."""

__version__ = "0.1.0"
