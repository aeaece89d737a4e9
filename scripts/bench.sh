#!/usr/bin/env bash
# Benchmarks:
# - publish: the median wall time of creating an event through Skymeet (end to end) and of a bare
#   createRecord on the same local PDS, and their ratio (BENCH_ENGINE=sqlite for the embedded store);
# - firehose: a recorded subscribeRepos stream of BENCH_FRAMES frames (default 100,000; recorded once
#   from the benchmarks' own new local PDS and cached, which takes long: the PDS commits 40-60
#   records/s on 2 cores) through our decoder + filter and our applier, then through
#   @atproto/sync's consumer; the app's own release binary consuming it from a stand-in relay (its
#   peak memory); and the latency from a commit on the PDS to the cache, alone and while the
#   recording is applied alongside. Run on its own with BENCH_PROFILE=N (and BENCH_ENGINE,
#   BENCH_GROUP), the firehose benchmark only applies the calendar frames, the others, then all,
#   N times each, for a profiler;
# - series detection: precision, recall and accuracy (skymeet_series_detection_accuracy) on the
#   200 generated labelled histories;
# - discovery: with BENCH_EVENTS (default 100,000) events seeded, wrk -c64 against /events (first
#   and a deep page), home, an event page, a user page, a search and a near-me search, each beside
#   a static file of the same bytes served by the same process; on SQLite and on PostgreSQL, with
#   the query plans of the listing and the search.
# - what a browser downloads: the release build's wasm for each page, raw and as sent (brotli,
#   gzip): the main module, and for the pages split out of it their own files too;
# - at the end, one table of every figure beside its target (the rows each benchmark prints).
# Needs PostgreSQL and Redis like the tests.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"
ensure_build_tools
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
# A local network of the benchmarks' own, new at every run (its own ports and data, sharing the
# install with the development one): the firehose recording, when it must be made, starts from
# an empty stream, so it holds the generated mix (1% calendar records) and not whatever a
# development session or the test suite wrote before.
export LOCAL_PDS_DIR=${LOCAL_PDS_DIR:-$SKYMEET_CACHE/local-pds}
export LOCAL_PDS_RUN_DIR=$SKYMEET_CACHE/bench-pds PDS_PORT=${BENCH_PDS_PORT:-2593} PLC_PORT=${BENCH_PLC_PORT:-2592}
scripts/local-pds.sh stop >/dev/null 2>&1 || true
scripts/local-pds.sh start
# shellcheck disable=SC1091
source "$LOCAL_PDS_RUN_DIR/env"
export LOCAL_PDS_URL LOCAL_PLC_URL
leptos_build_env
# Everything printed is kept, for the table at the end.
output=$(mktemp)
trap 'scripts/local-pds.sh stop >/dev/null 2>&1; rm -f "$output"' EXIT
# First, as the firehose benchmark also runs the release server binary on its own.
step "what a browser downloads (the release build)"
scripts/build.sh --release --precompress >/dev/null
node benches/wasm-per-page.mjs target/site/pkg "$CARGO_TARGET_DIR/release/$LEPTOS_HASH_FILE_NAME" | tee -a "$output"

cargo test --quiet --features ssr --lib detection_is_precise -- --nocapture 2>&1 | grep 'series detection' | tee -a "$output"
ensure_apt wrk bsdextrautils
for engine in sqlite postgres; do
  RUST_LOG=${RUST_LOG:-warn} BENCH_ENGINE=$engine cargo bench --features ssr --bench discovery | tee -a "$output"
done
RUST_LOG=${RUST_LOG:-warn} cargo bench --features ssr --bench publish --bench firehose | tee -a "$output"

# The same recording through @atproto/sync's firehose consumer (the JS reference).
ensure_npm "$SKYMEET_ROOT/benches/firehose-js"
node "$SKYMEET_ROOT/benches/firehose-js/consume.mjs" "$SKYMEET_CACHE/firehose-${BENCH_FRAMES:-100000}.frames" | tee -a "$output"

step "summary"
{
  printf 'measured\tfigure\ttarget\n'
  grep -h '^row:' "$output" | cut -f2-
} | column -t -s $'\t'
