"""Task plugins: one async function per runnable Kestra task type, found through ``registry.PLUGINS``.

Plugins only see a ``RunContext`` (daemon/engine/context.py); heavy libraries (httpx, psycopg, docker) are
imported by the plugin module, which the registry loads the first time such a task runs.
"""
