#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is at /usr/bin/chromium for the browser tests
# (tests/web/test_web_browser.py). Playwright drives it through `executable_path`; it never downloads a browser
# of its own. Installs the `chromium` package with apt when it is missing and we are root;
# otherwise says what to do and leaves it (the browser tests then skip, outside CI).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "scripts/chromium.sh: installing Debian's chromium for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
    fi
    exit 0
fi
echo "scripts/chromium.sh: /usr/bin/chromium is missing; install Debian's 'chromium' package" \
    "(apt-get install chromium) to run the browser tests" >&2
