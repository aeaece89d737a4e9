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
# Writes the site to target/site and the server to $CARGO_TARGET_DIR/{debug,release}/skymeet, with
# the hash.txt Leptos reads beside it. pkg/ holds skymeet.<hash>.{js,wasm,css}, and the pages' code
# split out of the wasm (tools/wasm-split): a .wasm per page and per chunk that pages share, the
# loader that fetches them (__wasm_split.<hash>.js) and the manifest of which page needs which
# (__wasm_split_manifest.<hash>.json).
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
# --emit-relocs: the splitter needs the relocations to cut the module apart (cargo-leptos's --split
# adds the same flag, so `cargo leptos watch --split` shares this cache).
RUSTFLAGS="$RUSTFLAGS -Clink-args=--emit-relocs" \
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

step "wasm split, wasm-bindgen, Tailwind, assets"
# The previous build's own files stay for one more build: a page still open from it fetches the
# code of the pages it shows next under their old names, and a split file that fails to load
# stops the app in that tab (Leptos 0.8.23 panics). previous-build.txt lists what was carried
# over (beside the site, not in it), so a build carries only its predecessor's files.
previous=$(mktemp -d)
trap 'rm -f "$front_log"; rm -rf "$previous"' EXIT
if [ -d "$pkg" ]; then
  mv "$pkg" "$previous/pkg"
  [ -f "$site.previous-build.txt" ] && (cd "$previous/pkg" && xargs -r rm -f <"$SKYMEET_ROOT/$site.previous-build.txt")
fi
rm -f "$site.previous-build.txt"
rm -rf "$site"
mkdir -p "$pkg"
front_out="$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/$front_dir"
# Each page is a lazy route (src/app.rs): its code goes to files of its own, fetched when the page
# is first shown. Even a development build needs this step: on wasm, a lazy route calls into a
# placeholder module that only the splitter resolves.
skymeet-wasm-split "$front_out/$name.wasm" "$pkg" "$front_out/${name}_split.wasm"
wasm-bindgen --target=web --keep-lld-exports --no-demangle --out-name="$name" --out-dir="$pkg" \
  "$front_out/${name}_split.wasm"
# Leptos asks for <name>.wasm, not wasm-bindgen's <name>_bg.wasm.
mv "$pkg/${name}_bg.wasm" "$pkg/$name.wasm"
if [ -n "$release" ]; then
  # The main module and the ~200 split files, two at a time. Without the producers and
  # target-features sections, which no browser reads: in each of the ~120 files a page can need,
  # they cost 136 bytes after brotli.
  find "$pkg" -name '*.wasm' -print0 | xargs -0 -n 1 -P 2 sh -c \
    'wasm-opt -Oz --strip-producers --strip-target-features \
      --enable-bulk-memory --enable-nontrapping-float-to-int "$0" -o "$0"'
fi
tailwindcss --input style/main.css --output "$pkg/$name.css" ${release:+--minify}
cp -R public/. "$site/"

# Names by content, so the files can be cached for good; Leptos reads the names from hash.txt
# beside the server binary.
step "name the client's files by their content"
node scripts/name-by-content.mjs "$pkg" "$name" >"$CARGO_TARGET_DIR/$server_dir/$LEPTOS_HASH_FILE_NAME"
if [ -d "$previous/pkg" ]; then
  (cd "$previous/pkg" && find . -maxdepth 1 -type f -printf '%f\n') >"$previous/files"
  while IFS= read -r file; do
    [ -e "$pkg/$file" ] || { mv "$previous/pkg/$file" "$pkg/$file" && printf '%s\n' "$file" >>"$site.previous-build.txt"; }
  done <"$previous/files"
fi

if [ -z "$release" ]; then
  # A development build's files (its wasm is about 10 MB in ~200 files) are compressed here,
  # quickly, so that the unoptimised server never compresses a file itself (see assets.rs).
  ensure_apt brotli
  find "$site" -type f ! -name '*.br' ! -name '*.gz' -print0 |
    xargs -0 -n 16 -P 2 sh -c 'for f; do
      [ -e "$f.br" ] || brotli -q 4 -k "$f"; [ -e "$f.gz" ] || gzip -4 -k "$f"; done' _
fi
if [ -n "$precompress" ]; then
  step "precompress (brotli, gzip)"
  ensure_apt brotli
  # A file carried over from the previous build has its compressed forms already.
  find "$site" -type f ! -name '*.br' ! -name '*.gz' -print0 |
    xargs -0 -n 8 -P 2 sh -c 'for f; do
      [ -e "$f.br" ] || brotli -q 11 -k "$f"; [ -e "$f.gz" ] || gzip -9 -k "$f"; done' _
fi
step "built: $site and $CARGO_TARGET_DIR/$server_dir/$name"
