#!/usr/bin/env bash
# Fuzzes the JSON API from its OpenAPI document with schemathesis (from PyPI): every operation, as a
# guest and signed in as an admin, checked for server errors (any 5xx: the local PDS is up, so even
# a 502/503 "the PDS failed" answer would be a finding). Prints schemathesis's summary; exits
# non-zero on a failure.
#
# Runs the debug server built by scripts/build.sh on port FUZZ_PORT (3300) with the embedded
# database, sessions in Redis (so they survive the restart that makes the signed-in account an
# admin) and the local ATProto network; FUZZ_EXAMPLES (40) examples per operation and phase.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"
ensure_build_tools
ensure_npm "$SKYMEET_ROOT/end2end"
ensure_apt chromium
command -v st >/dev/null || { step "pip install schemathesis"; python3 -m pip install -q schemathesis; }
export LOCAL_PDS_DIR=${LOCAL_PDS_DIR:-$SKYMEET_CACHE/local-pds}
started_pds=
if ! scripts/local-pds.sh status >/dev/null 2>&1; then
  scripts/local-pds.sh start
  started_pds=1
fi
# shellcheck disable=SC1091
source "$LOCAL_PDS_DIR/run/env"
export LOCAL_PDS_URL LOCAL_PLC_URL
scripts/build.sh

port=${FUZZ_PORT:-3300}
export SKYMEET_URL="http://127.0.0.1:$port"
work=$(mktemp -d)
server=
stop_server() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=; }
trap 'stop_server; [ -n "$started_pds" ] && scripts/local-pds.sh stop >/dev/null 2>&1; rm -rf "$work"' EXIT
start_server() { # ADMIN_DIDS
  LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=skymeet \
    SQLITE_PATH="$work/skymeet.db" DATABASE_URL= REDIS_URL="${FUZZ_REDIS_URL:-redis://127.0.0.1:6379/7}" \
    CREDENTIALS_KEYS="k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" RUST_LOG=warn \
    ATPROTO_PLC_URL="$LOCAL_PLC_URL" ATPROTO_HANDLE_RESOLVER="$LOCAL_PDS_URL" \
    FIREHOSE_URL="${LOCAL_PDS_URL/http/ws}" ADMIN_DIDS="$1" \
    "$CARGO_TARGET_DIR/debug/skymeet" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fs "$SKYMEET_URL/healthz" >/dev/null && return; sleep 0.1; done
  fail "the server did not start: $(tail -5 "$work/server.log")"
}

start_server ""
account=$(node scripts/fuzz-api/sign-in.js)
did=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["did"])' "$account")
stop_server
start_server "$did"
cookie=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["cookie"])' "$account")

checks=(--checks not_a_server_error --max-examples "${FUZZ_EXAMPLES:-40}")
step "schemathesis as a guest"
st run "$SKYMEET_URL/api/openapi.json" "${checks[@]}"
step "schemathesis as an admin"
# Not the reset, which may end the fuzzing admin's own session.
st run "$SKYMEET_URL/api/openapi.json" "${checks[@]}" -H "cookie: $cookie" --exclude-path /api/admin/sessions/reset
if grep -q "panicked" "$work/server.log"; then
  grep -B2 -A10 "panicked" "$work/server.log"
  fail "the server panicked"
fi
