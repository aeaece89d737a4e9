#!/usr/bin/env bash
# Development: `cargo leptos watch`, which rebuilds and reloads the browser on every change. Installs
# cargo-leptos once (about 15 minutes on 2 cores; cached in $SKYMEET_CACHE/tools). Arguments go to
# cargo-leptos (e.g. --hot-reload).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"
ensure_build_tools
ensure_cargo_tool cargo-leptos cargo-leptos "$CARGO_LEPTOS_VERSION" --locked --ignore-rust-version
leptos_build_env
# --split: the pages are lazy routes, split out of the main wasm module (see scripts/build.sh).
exec cargo leptos watch --split "$@"
