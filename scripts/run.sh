#!/usr/bin/env bash
# Sets up whatever is missing, builds Skymeet and runs it on http://127.0.0.1:3000.
# With no DATABASE_URL / REDIS_URL it runs on the embedded default (SQLite in ./data, in-process
# stores); set them (or put them in .env) to run on PostgreSQL + Redis.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"
ensure_build_tools
step "cargo leptos serve (builds, then serves on ${LEPTOS_SITE_ADDR:-127.0.0.1:3000})"
exec cargo leptos serve "$@"
