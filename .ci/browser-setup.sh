#!/usr/bin/env bash
# Installs what the browser tests (tests/server/ui/test_browser.py) need: Debian's Chromium and the
# Playwright Python package. Idempotent; never fails the CI run (the tests skip with a reason instead).
# `playwright install` is never run: it downloads a browser build, which this machine cannot fetch; the tests
# launch /usr/bin/chromium through executable_path.
set -u

say() { echo "browser-setup: $*"; }

if [ -x /usr/bin/chromium ]; then
    say "chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
else
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        if [ "$(id -u)" != "0" ]; then
            if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
        fi
        say "installing chromium with apt-get"
        if ! $SUDO apt-get update -qq >/dev/null 2>&1; then
            say "apt-get update failed; the browser tests will be skipped"
        elif ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null 2>&1; then
            say "apt-get install chromium failed; the browser tests will be skipped"
        fi
    else
        say "no apt-get; cannot install chromium; the browser tests will be skipped"
    fi
    [ -x /usr/bin/chromium ] && say "chromium installed"
fi

PY="${PYTHON:-python3}"
if "$PY" -c "import playwright" >/dev/null 2>&1; then
    say "playwright (python) present"
elif "$PY" -m pip install -q playwright >/dev/null 2>&1; then
    say "playwright (python) installed"
else
    say "pip install playwright failed; the browser tests will be skipped"
fi
exit 0
