"""The execution engine: state machine (pure) and executor (async, store-backed)."""
