#!/usr/bin/env bash
# Builds the browser half (wasm), the site (js, css, assets) and the server, the way
# `cargo leptos build` does, without cargo-leptos: compiling it takes a fresh machine about
# 15 minutes, longer than building the app. The steps, flags and environment are cargo-leptos
# 0.3's own (leptos_build_env, the `front` target dir), so both share one build cache and
# `cargo leptos watch` still works for development.
#
# usage: scripts/build.sh [--release] [--precompress]
#   (default)      the server unoptimised, the wasm lightly optimised (the wasm-dev profile)
#   --release      optimised: the wasm-release profile, wasm-opt -Oz, minified CSS
#   --precompress  also write .br and .gz beside every site file (with --release)
#
# Writes the site to target/site (pkg/ holds skymeet.<hash>.{js,wasm,css}) and the server to
# $CARGO_TARGET_DIR/{debug,release}/skymeet, with the hash.txt Leptos reads beside it.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"

release= precompress=
for arg in "$@"; do
  case $arg in
    --release) release=1 ;;
    --precompress) precompress=1 ;;
    *) fail "unknown argument: $arg (expected --release or --precompress)" ;;
  esac
done
[ -n "$precompress" ] && [ -z "$release" ] && fail "--precompress goes with --release"

ensure_build_tools
leptos_build_env
export PATH="$SKYMEET_ROOT/node_modules/.bin:$PATH"
name=$LEPTOS_OUTPUT_NAME
site=$LEPTOS_SITE_ROOT
pkg=$site/$LEPTOS_SITE_PKG_DIR
# RUSTFLAGS keeps leptos_build_env's `--cfg erase_components` in release too (cargo-leptos adds it
# to debug builds only): without it this app's view types overflow rustc's query depth.
if [ -n "$release" ]; then
  export LEPTOS_JS_MINIFY=true
  front_profile=(--profile=wasm-release) front_dir=wasm-release server_profile=(--release) server_dir=release
else
  front_profile=(--profile=wasm-dev) front_dir=wasm-dev server_profile=() server_dir=debug
fi

# The two halves build side by side, as cargo-leptos builds them (different target dirs, so
# neither waits for the other's lock); the server's output comes first, the wasm's after it.
step "cargo build: the browser half (wasm) and the server"
front_log=$(mktemp)
trap 'rm -f "$front_log"' EXIT
cargo build --package="$name" --lib --target-dir="$CARGO_TARGET_DIR/front" --target=wasm32-unknown-unknown \
  --no-default-features --features=hydrate "${front_profile[@]}" >"$front_log" 2>&1 &
front=$!
server_status=0
cargo build --package="$name" --bin="$name" --no-default-features --features=ssr "${server_profile[@]}" ||
  server_status=$?
front_status=0
wait "$front" || front_status=$?
cat "$front_log"
[ "$server_status" -eq 0 ] || fail "the server did not build"
[ "$front_status" -eq 0 ] || fail "the browser half did not build"

step "wasm-bindgen, Tailwind, assets"
rm -rf "$site"
mkdir -p "$pkg"
wasm-bindgen --target=web --out-name="$name" --out-dir="$pkg" \
  "$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/$front_dir/$name.wasm"
# Leptos asks for <name>.wasm, not wasm-bindgen's <name>_bg.wasm.
mv "$pkg/${name}_bg.wasm" "$pkg/$name.wasm"
if [ -n "$release" ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$pkg/$name.wasm" -o "$pkg/$name.wasm"
fi
tailwindcss --input style/main.css --output "$pkg/$name.css" ${release:+--minify}
cp -R public/. "$site/"

# Names by content (cargo-leptos's scheme: the MD5 in unpadded base64url), so the files can be
# cached for good; Leptos reads the hashes from hash.txt beside the server binary.
hash_of() { openssl dgst -md5 -binary "$1" | base64 | tr '+/' '-_' | tr -d '=\n'; }
hashes=
for kind in js wasm css; do
  hash=$(hash_of "$pkg/$name.$kind")
  mv "$pkg/$name.$kind" "$pkg/$name.$hash.$kind"
  hashes+="$kind: $hash"$'\n'
done
printf '%s' "$hashes" >"$CARGO_TARGET_DIR/$server_dir/$LEPTOS_HASH_FILE_NAME"

if [ -n "$precompress" ]; then
  step "precompress (brotli, gzip)"
  ensure_apt brotli
  find "$site" -type f ! -name '*.br' ! -name '*.gz' -print0 |
    xargs -0 -n 8 -P 2 sh -c 'for f; do brotli -f -q 11 -k "$f"; gzip -f -9 -k "$f"; done' _
fi
step "built: $site and $CARGO_TARGET_DIR/$server_dir/$name"
