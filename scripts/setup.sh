# Shared set-up for scripts/run.sh and scripts/test.sh: installs whatever is missing, caching it
# outside the clone. Source it; don't run it.
#
#   SKYMEET_CACHE     where tools, the cargo target dir and the local PDS live (~/.cache/skymeet)
#   CARGO_TARGET_DIR  defaults to $SKYMEET_CACHE/target, shared by every clone on the machine

SKYMEET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SKYMEET_CACHE=${SKYMEET_CACHE:-$HOME/.cache/skymeet}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$SKYMEET_CACHE/target}
export PATH="$SKYMEET_CACHE/tools/bin:$HOME/.cargo/bin:$PATH"

# Only for `cargo leptos watch` (scripts/watch.sh); scripts/build.sh does the build without it.
# Its lockfile wants a newer rustc than this machine has: --ignore-rust-version.
CARGO_LEPTOS_VERSION=0.3.11
# Must equal the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$SKYMEET_ROOT/Cargo.lock")

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=
ensure_apt() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  step "apt-get install ${missing[*]}"
  local sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
  if [ -z "$apt_updated" ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown || {
    step "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  }
}

# ensure_cargo_tool BINARY CRATE VERSION [cargo install flags...]
ensure_cargo_tool() {
  local binary=$1 crate=$2 version=$3; shift 3
  local marker="$SKYMEET_CACHE/tools/.$crate-$version"
  [ -x "$SKYMEET_CACHE/tools/bin/$binary" ] && [ -f "$marker" ] && return
  step "cargo install $crate $version (once; cached in $SKYMEET_CACHE/tools)"
  # Its own target dir, so installing never invalidates the project's build cache.
  CARGO_TARGET_DIR="$SKYMEET_CACHE/tool-build" \
    cargo install "$crate" --version "$version" --root "$SKYMEET_CACHE/tools" --force "$@"
  rm -rf "$SKYMEET_CACHE/tool-build"
  touch "$marker"
}

# The wasm splitter (tools/wasm-split, a binary of its own): built once per version of its sources.
ensure_split_tool() {
  local source="$SKYMEET_ROOT/tools/wasm-split" version marker
  version=$(cat "$source/Cargo.toml" "$source/Cargo.lock" "$source/src/main.rs" | openssl dgst -md5 -r | cut -c1-12)
  marker="$SKYMEET_CACHE/tools/.skymeet-wasm-split-$version"
  [ -x "$SKYMEET_CACHE/tools/bin/skymeet-wasm-split" ] && [ -f "$marker" ] && return
  step "cargo install --path tools/wasm-split (once per version; cached in $SKYMEET_CACHE/tools)"
  CARGO_TARGET_DIR="$SKYMEET_CACHE/tool-build" \
    cargo install --path "$source" --locked --root "$SKYMEET_CACHE/tools" --force
  rm -rf "$SKYMEET_CACHE/tool-build"
  touch "$marker"
}

# ensure_npm DIR: installs DIR's locked packages when node_modules is missing or older than the
# lockfile. Not `npm ci`: it refuses a lockfile that lacks optional packages for other platforms
# (Tailwind's oxide-* binaries), which the registry here does not serve; `npm install --no-save`
# installs the same locked versions and leaves the lockfile alone.
ensure_npm() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.skymeet-lock"; then
    step "npm install in ${dir#"$SKYMEET_ROOT"/}"
    (cd "$dir" && npm install --no-audit --no-fund --no-save --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.skymeet-lock"
  fi
}

# What the server's build needs (scripts/build.sh --only=server).
ensure_server_tools() {
  command -v cargo >/dev/null || fail "cargo is missing: install Rust with rustup first"
  command -v npm >/dev/null || ensure_apt nodejs npm
  ensure_apt pkg-config libssl-dev
  ensure_npm "$SKYMEET_ROOT"
}

# What building both halves needs.
ensure_build_tools() {
  ensure_server_tools
  ensure_rust_target
  # Not --locked: its lockfile pins a crate version the registry no longer serves. Without default
  # features: they only give its test runner TLS (rustls and ring, which the build never uses).
  ensure_cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION" --no-default-features
  ensure_split_tool
}

# The build (scripts/build.sh, or cargo-leptos) runs cargo with these variables; leptos reads some at
# compile time, so cargo would rebuild half the dependency tree for any cargo command run without
# them. Use them for `cargo test` and `cargo clippy` too, and they share the build's cache.
leptos_build_env() {
  export LEPTOS_OUTPUT_NAME=skymeet LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=. LEPTOS_BIN_DIR=. \
    LEPTOS_JS_MINIFY=false LEPTOS_HASH_FILES=true LEPTOS_HASH_FILE_NAME=hash.txt RUSTFLAGS="--cfg erase_components"
}
