#!/usr/bin/env bash
# The main job: set up, then run the daemon on the embedded SQLite default in dry-run mode.
# It imports the example posts from posts/ and "publishes" them: every account is routed to
# the dry-run adapter, which records exactly what would be sent. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/postbot run --dry-run "$@"
