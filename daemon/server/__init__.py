"""The daemon process (``flowd run``): sync loop, scheduler, executor pool and the HTTP API, on one loop.

``services.Services`` is the object graph the HTTP API is built on; ``process.run_daemon`` wires it up.
"""
