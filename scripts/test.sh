#!/usr/bin/env bash
# Set up, then run the whole test suite (unit, integration, acceptance; SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# Debian's chromium for the browser tests (tests/web/test_web_browser.py), installed with apt
# when missing and we are root; Playwright drives it, it never downloads a browser.
bash scripts/chromium.sh
# PostgreSQL at 127.0.0.1:5432 is started before the session on these machines; start it
# if it is installed here but not running.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
fi
exec .venv/bin/python -m pytest "$@"
