#!/usr/bin/env bash
# Installs dbt (the flowd[dbt] extra's packages) into its own virtual environment for the dbt tests
# (tests/tasks/test_dbt_flows.py look for /tmp/flowd-dbt-venv/bin/dbt, or FLOWD_TEST_DBT, or dbt on PATH).
# dbt-core pins pathspec<0.13 while mypy (the dev extra) needs pathspec>=1, so the two cannot share one
# environment. Idempotent; never fails the CI run (the dbt tests skip with a reason instead).
set -u
VENV="${FLOWD_DBT_VENV:-/tmp/flowd-dbt-venv}"
PY="${PYTHON:-python3}"
say() { echo "dbt-setup: $*"; }
if [ -x "$VENV/bin/dbt" ]; then
    say "dbt present in $VENV"; exit 0
fi
if "$PY" -m venv "$VENV" >/dev/null 2>&1 \
    && "$VENV/bin/python" -m pip install -q "dbt-core>=1.8,<1.11" "dbt-postgres>=1.8,<1.10" >/dev/null 2>&1; then
    say "dbt installed in $VENV"
else
    say "installing dbt failed; the dbt tests will be skipped"
fi
exit 0
