"""The benchmark harness behind ``bench/run.py``: measuring child processes, workloads, peers, the report."""
