#!/usr/bin/env bash
# Sets up whatever is missing and runs every test: formatting and lints, unit tests, integration
# tests against PostgreSQL + Redis + SQLite + the local ATProto network (PLC + PDS), and the
# Playwright specs in Chromium with JavaScript on and off.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"
started=$(date +%s)

ensure_build_tools
ensure_apt chromium postgresql-client redis-tools curl
ensure_npm "$SKYMEET_ROOT/end2end"

# PostgreSQL and Redis usually run already on this project's machines; start them if not.
step "PostgreSQL and Redis"
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  command -v pg_ctlcluster >/dev/null || ensure_apt postgresql
  version=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432 || fail "PostgreSQL does not answer on 127.0.0.1:5432"
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || ensure_apt redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping || fail "Redis does not answer on 127.0.0.1:6379"

step "python-dateutil, icalendar (independent RRULE expansion and iCalendar reading the tests compare with), aiosmtpd (the SMTP server account mail goes to)"
python_env="$SKYMEET_CACHE/python"
if ! "$python_env/bin/python" -c 'import dateutil, icalendar, aiosmtpd' >/dev/null 2>&1; then
  [ -x "$python_env/bin/pip" ] || python3 -m venv "$python_env"
  "$python_env/bin/pip" install --quiet --disable-pip-version-check 'python-dateutil==2.9.0.post0' 'icalendar==6.3.1' 'aiosmtpd==1.4.6'
fi
export SKYMEET_PYTHON="$python_env/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (server and browser builds; warnings are errors)"
(
  leptos_build_env
  cargo clippy --all-targets --features ssr -- -D warnings
  cargo clippy --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings
)

step "local ATProto network (PLC + PDS)"
export LOCAL_PDS_DIR=${LOCAL_PDS_DIR:-$SKYMEET_CACHE/local-pds}
trap 'scripts/local-pds.sh stop >/dev/null 2>&1 || true' EXIT
scripts/local-pds.sh start
# shellcheck disable=SC1091
source "$LOCAL_PDS_DIR/run/env"
export LOCAL_PDS_URL LOCAL_PLC_URL

step "cargo test (unit + integration)"
(leptos_build_env && cargo test --features ssr --no-fail-fast)

scripts/build.sh

step "Playwright (Chromium, JavaScript on and off)"
export E2E_DATA_DIR
E2E_DATA_DIR=$(mktemp -d)
(cd end2end && npx playwright test)
rm -rf "$E2E_DATA_DIR"

step "all tests passed in $(( $(date +%s) - started ))s"
