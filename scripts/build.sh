#!/usr/bin/env bash
# Builds the browser half (wasm), the site (js, css, assets) and the server, the way
# `cargo leptos build` does, without cargo-leptos: compiling it takes a fresh machine about
# 15 minutes, longer than building the app. The steps, flags and environment are cargo-leptos
# 0.3's own (leptos_build_env, the `front` target dir), so both share one build cache and
# `cargo leptos watch` still works for development.
#
# usage: scripts/build.sh [--release] [--precompress] [--only=server|--only=client]
#   (default)      the server unoptimised, the wasm lightly optimised (the wasm-dev profile)
#   --release      optimised: the wasm-release profile, wasm-opt -Oz, minified CSS
#   --precompress  also write .br and .gz beside every site file at the highest levels (with
#                  --release; a development build writes them at quick levels)
#   --only=server  the server and a site without the browser half: its pages work as they do with
#                  JavaScript off. scripts/run.sh starts the server after this and then runs
#   --only=client  the browser half, added to the site under the running server, which loads it
#                  in every page from then on (src/server/http/assets.rs, ClientBuild)
#
# Writes the site to target/site and the server to $CARGO_TARGET_DIR/{debug,release}/skymeet, with
# the hash.txt Leptos reads beside it. pkg/ holds skymeet.<hash>.{js,wasm,css}, and the pages' code
# split out of the wasm (tools/wasm-split): a .wasm per page and per chunk that pages share, the
# loader that fetches them (__wasm_split.<hash>.js), the manifest of which page needs which
# (__wasm_split_manifest.<hash>.json), and for each page its files in one pack
# (pack_<page>.<hash>.bin, scripts/pack-pages.mjs).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$SKYMEET_ROOT"

release= precompress= only=
for arg in "$@"; do
  case $arg in
    --release) release=1 ;;
    --precompress) precompress=1 ;;
    --only=server | --only=client) only=${arg#--only=} ;;
    *) fail "unknown argument: $arg (expected --release, --precompress or --only=server|client)" ;;
  esac
done
[ -n "$precompress" ] && [ -z "$release" ] && fail "--precompress goes with --release"

if [ "$only" = server ]; then ensure_server_tools; else ensure_build_tools; fi
ensure_apt brotli
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
hash_file=$CARGO_TARGET_DIR/$server_dir/$LEPTOS_HASH_FILE_NAME

build_server() {
  cargo build --package="$name" --bin="$name" --no-default-features --features=ssr "${server_profile[@]}"
}
# --emit-relocs: the splitter needs the relocations to cut the module apart (cargo-leptos's --split
# adds the same flag, so `cargo leptos watch --split` shares this cache).
build_front() {
  RUSTFLAGS="$RUSTFLAGS -Clink-args=--emit-relocs" \
    cargo build --package="$name" --lib --target-dir="$CARGO_TARGET_DIR/front" --target=wasm32-unknown-unknown \
    --no-default-features --features=hydrate "${front_profile[@]}"
}

case $only in
  server)
    step "cargo build: the server"
    build_server
    ;;
  client)
    step "cargo build: the browser half (wasm)"
    build_front
    ;;
  *)
    # The two halves build side by side, as cargo-leptos builds them (different target dirs, so
    # neither waits for the other's lock); the server's output comes first, the wasm's after it.
    step "cargo build: the browser half (wasm) and the server"
    front_log=$(mktemp)
    trap 'rm -f "$front_log"' EXIT
    build_front >"$front_log" 2>&1 &
    front=$!
    server_status=0
    build_server || server_status=$?
    front_status=0
    wait "$front" || front_status=$?
    cat "$front_log"
    [ "$server_status" -eq 0 ] || fail "the server did not build"
    [ "$front_status" -eq 0 ] || fail "the browser half did not build"
    ;;
esac

# The new files are made in a folder beside the site, compressed there, and only then moved in,
# so a running server (--only=client) never reads a file before its compressed forms are there.
step "$([ "$only" = server ] && echo "Tailwind, assets" || echo "wasm split, wasm-bindgen, Tailwind, assets")"
mkdir -p "$pkg"
stage=$(mktemp -d "$site.next.XXXXXX")
trap 'rm -rf "$stage" "${front_log:-}"' EXIT
if [ "$only" != server ]; then
  front_out="$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/$front_dir"
  # Each page is a lazy route (src/app.rs): its code goes to files of its own, fetched when the
  # page is first shown. Even a development build needs this step: on wasm, a lazy route calls
  # into a placeholder module that only the splitter resolves.
  skymeet-wasm-split "$front_out/$name.wasm" "$stage" "$front_out/${name}_split.wasm"
  # The first page a browser loads code for takes its split files in one download (see the script).
  node scripts/pack-pages.mjs loader "$stage"
  wasm-bindgen --target=web --keep-lld-exports --no-demangle --out-name="$name" --out-dir="$stage" \
    "$front_out/${name}_split.wasm"
  # Leptos asks for <name>.wasm, not wasm-bindgen's <name>_bg.wasm.
  mv "$stage/${name}_bg.wasm" "$stage/$name.wasm"
  if [ -n "$release" ]; then
    # The main module and the ~200 split files, two at a time. Without the producers and
    # target-features sections, which no browser reads: in each of the ~120 files a page can
    # need, they cost 136 bytes after brotli.
    find "$stage" -name '*.wasm' -print0 | xargs -0 -n 1 -P 2 sh -c \
      'wasm-opt -Oz --strip-producers --strip-target-features \
        --enable-bulk-memory --enable-nontrapping-float-to-int "$0" -o "$0"'
  fi
fi
tailwindcss --input style/main.css --output "$stage/$name.css" ${release:+--minify}
cp -R public/. "$site/"

# Names by content, so the files can be cached for good; Leptos reads the names from hash.txt
# beside the server binary (written last, below).
step "name the client's files by their content"
node scripts/name-by-content.mjs "$stage" "$name" >"$stage/.hash.txt"
[ "$only" = server ] || node scripts/pack-pages.mjs packs "$stage" "$stage/.hash.txt"

# Compressed forms beside each file, so that the server never compresses one itself (see
# assets.rs): quickly for a development build (its wasm is about 10 MB in ~200 files), at the
# highest levels with --precompress. The public files are copied again by every build: theirs
# are written again too.
if [ -n "$precompress" ]; then levels=(11 9) parallel=8; else levels=(4 4) parallel=16; fi
step "compress (brotli -q ${levels[0]}, gzip -${levels[1]})"
compress() {
  xargs -0 -r -n "$parallel" -P 2 sh -c 'q=$1 g=$2; shift 2; for f; do
    brotli -f -q "$q" -k "$f"; gzip -f "-$g" -k "$f"; done' _ "${levels[@]}"
}
find "$stage" -type f ! -name '.hash.txt' -print0 | compress
(cd public && find . -type f -printf '%P\0') | (cd "$site" && compress)

# The previous build's own files stay for one more build: a page still open from it fetches the
# code of the pages it shows next under their old names, and a split file that fails to load
# stops the app in that tab (Leptos 0.8.23 panics). previous-build.txt lists what was carried
# over (beside the site, not in it), so a build carries only its predecessor's files. A build
# of the server alone changes no client file and carries nothing.
carried=$site.previous-build.txt
if [ "$only" != server ]; then
  : >"$stage/.carried"
  (cd "$pkg" && find . -maxdepth 1 -type f -printf '%f\n') | while IFS= read -r file; do
    [ -e "$stage/$file" ] && continue
    if [ -f "$carried" ] && grep -qxF "$file" "$carried"; then
      rm -f "$pkg/$file"
    else
      printf '%s\n' "$file" >>"$stage/.carried"
    fi
  done
  mv "$stage/.carried" "$carried"
fi
find "$stage" -maxdepth 1 -type f ! -name '.hash.txt' -exec mv -f -t "$pkg" {} +
# Last, in one rename: from here on the server names the new files in its pages. (The server's
# folder is there already unless only the browser half was ever built.)
mkdir -p "$(dirname "$hash_file")"
mv -f "$stage/.hash.txt" "$hash_file"
step "built: $site and $CARGO_TARGET_DIR/$server_dir/$name"
