#!/usr/bin/env bash
# Sets up whatever is missing, builds Skymeet and runs it on http://127.0.0.1:3000
# (LEPTOS_SITE_ADDR to change it).
#
# usage: scripts/run.sh [--release] [--local]
#   --release  an optimised build (slower to build, what production runs)
#   --local    a network of its own, no internet needed: starts the local PLC and PDS
#              (scripts/local-pds.sh), creates two demo accounts with events and RSVPs, prints
#              their handles and passwords, and runs the app on that network, alice as an admin
#
# Without --release, the server starts as soon as it is built, and the browser half (the wasm)
# builds while it runs: on a fresh machine the first page comes minutes earlier. Until the
# browser half is there, pages work as they do with JavaScript off; then every page loads it,
# with no restart.
#
# With no DATABASE_URL / REDIS_URL it runs on the embedded default (SQLite in ./data, in-process
# stores) and follows the public network's calendar records (a Jetstream; FIREHOSE_URL=off turns
# that off); set them (or put them in .env) to run on PostgreSQL + Redis.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"

release= local_network=
for arg in "$@"; do
  case $arg in
    --release) release=--release ;;
    --local) local_network=1 ;;
    *) fail "unknown argument: $arg (expected --release or --local)" ;;
  esac
done
address=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}

if [ -n "$release" ]; then scripts/build.sh --release; else scripts/build.sh --only=server; fi
leptos_build_env
export LEPTOS_SITE_ADDR=$address
server="$CARGO_TARGET_DIR/$([ -n "$release" ] && echo release || echo debug)/skymeet"

# The browser half, built while the server runs (without --release). A failed build leaves the
# pages working without JavaScript, and says so.
browser_half() {
  [ -n "$release" ] && return
  step "the browser half (wasm), built while the server runs; until it is in, pages work without JavaScript"
  if scripts/build.sh --only=client; then
    step "the browser half is in: pages load it from now on (http://$address)"
  else
    printf '\nerror: the browser half did not build; pages keep working without JavaScript\n' >&2
  fi
}

app=
trap '[ -n "$app" ] && kill "$app" 2>/dev/null || true' EXIT INT TERM
if [ -z "$local_network" ]; then
  step "serving on http://$address"
  "$server" &
  app=$!
  browser_half
  wait "$app"
  exit
fi

step "local ATProto network (PLC + PDS)"
export LOCAL_PDS_DIR=${LOCAL_PDS_DIR:-$SKYMEET_CACHE/local-pds}
scripts/local-pds.sh start >/dev/null
# shellcheck disable=SC1091
source "$LOCAL_PDS_DIR/run/env"
# The app's database and the demo's passwords live with the network they belong to: each start of
# the PDS is a new network, and its run folder starts empty.
demo_file="$LOCAL_PDS_DIR/run/demo-accounts.json"
people=$(scripts/local-pds.sh demo accounts "$demo_file")
admin=$(node -e 'console.log(JSON.parse(process.argv[1]).people[0].did)' "$people")
export ATPROTO_PLC_URL=$LOCAL_PLC_URL ATPROTO_HANDLE_RESOLVER=$LOCAL_PDS_URL \
  FIREHOSE_URL=${LOCAL_PDS_URL/http/ws} SQLITE_PATH="$LOCAL_PDS_DIR/run/skymeet.db" ADMIN_DIDS=$admin

step "serving on http://$address, wired to the local network"
"$server" &
app=$!
# The demo's records go out once the app follows the PDS's firehose, so it sees them arrive.
for _ in $(seq 1 120); do
  kill -0 "$app" 2>/dev/null || fail "the app stopped"
  curl -sf "http://$address/metrics" 2>/dev/null | grep -q '^skymeet_firehose_connected 1' && break
  sleep 0.5
done
scripts/local-pds.sh demo events "$demo_file"
node -e '
  const { people } = JSON.parse(process.argv[1])
  console.log(`\nSkymeet: http://${process.argv[2]}  (the local network; nothing leaves this machine)\n`)
  console.log("Sign in with a handle and its password (the PDS asks for it):")
  for (const p of people) console.log(`  ${p.handle.padEnd(16)} ${p.password}`)
  console.log(`\n${people[0].handle} is an admin (/admin). Ctrl-C stops the app; the PDS keeps running`)
  console.log("(scripts/local-pds.sh stop stops it; its next start is a new network).\n")
' "$people" "$address"
browser_half
wait "$app"
