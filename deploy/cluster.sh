#!/usr/bin/env bash
# The production topology on one machine, on loopback: Postgres + NATS (JetStream), one
# accounts-api, two chat-gateway replicas, one notifier and the nginx ingress in front of
# them.
#
#   deploy/cluster.sh [start]   build (unless SKIP_BUILD=1), start everything, wait for /readyz
#   deploy/cluster.sh stop      stop what `start` started (pid files in $RUNTIME_DIR)
#   deploy/cluster.sh status    show each process and its /readyz
#   deploy/cluster.sh pids      print NAME=PID for each running process (nginx: its master)
#
# Overrides let a test run a second, isolated copy next to the first:
#   CLUSTER_PORT (8080) ACCOUNTS_PORT (18001) GATEWAY_A_PORT (18002) GATEWAY_B_PORT (18003)
#   NOTIFIER_PORT (18004) ACCOUNTS_DB (carinfo_accounts) CHAT_DB (carinfo_chat)
#   NOTIFIER_DB (carinfo_notifier) NATS_SUBJECT_PREFIX ("")
#   RUNTIME_DIR (target/cluster) SKIP_BUILD=1 BIN_DIR (target/release) WEB_ROOT (deploy/web)
#   JWT_SECRET (else generated once into $RUNTIME_DIR/jwt_secret) READY_TIMEOUT_SECS (120)
#   VAPID_PRIVATE_KEY (else generated once into $RUNTIME_DIR/vapid_private_key)
#   TEST_TOPOLOGY (on): the ingress lets a client pin a gateway replica (X-CarInfo-Replica,
#   ?replica=) and names the replica that answered (X-CarInfo-Upstream), which the
#   cross-replica tests need; `off` renders the production ingress, which does neither.
# Any other service setting (RATE_LIMITS, RUST_LOG, LOG_FORMAT, ARGON2_*, WS_*, PUSH_*, ...)
# is passed through from the caller's environment.
#
# Started as root, nginx runs its workers as `nobody`, and they must read the web root and
# write temp files. Where the checkout is out of their reach (a root-only home, a `mktemp -d`
# parent), nginx serves a copy of the web root and keeps its pid and temp files in a
# directory of its own under ${TMPDIR:-/tmp}, removed by `stop`; its logs stay in
# $RUNTIME_DIR/logs.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CLUSTER_PORT="${CLUSTER_PORT:-8080}"
ACCOUNTS_PORT="${ACCOUNTS_PORT:-18001}"
GATEWAY_A_PORT="${GATEWAY_A_PORT:-18002}"
GATEWAY_B_PORT="${GATEWAY_B_PORT:-18003}"
NOTIFIER_PORT="${NOTIFIER_PORT:-18004}"
ACCOUNTS_DB="${ACCOUNTS_DB:-carinfo_accounts}"
CHAT_DB="${CHAT_DB:-carinfo_chat}"
NOTIFIER_DB="${NOTIFIER_DB:-carinfo_notifier}"
NATS_SUBJECT_PREFIX="${NATS_SUBJECT_PREFIX:-}"
RUNTIME_DIR="${RUNTIME_DIR:-$repo/target/cluster}"
BIN_DIR="${BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/release}"
WEB_ROOT="${WEB_ROOT:-$repo/deploy/web}"
READY_TIMEOUT_SECS="${READY_TIMEOUT_SECS:-120}"
TEST_TOPOLOGY="${TEST_TOPOLOGY:-on}"
# Where deploy/ensure-backends.sh puts Postgres and NATS.
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER="${PG_USER:-postgres}"
NATS_HOST=127.0.0.1
NATS_PORT=4222
HOST=127.0.0.1

# nginx resolves every path in its config against its own prefix, not our cwd.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
RUNTIME_DIR="$(abspath "$RUNTIME_DIR")"
BIN_DIR="$(abspath "$BIN_DIR")"
WEB_ROOT="$(abspath "$WEB_ROOT")"

# Debian puts nginx, pg_ctlcluster and start-stop-daemon in sbin, which a non-login
# root shell in a container may not have on PATH.
export PATH="$PATH:/usr/sbin:/sbin"

# name:binary-name. Stopping goes services first: the gateways' 1001 close frames still
# reach clients through nginx, which then has nothing left to drain.
PROCESSES=(accounts-api:accounts-api gateway-a:chat-gateway gateway-b:chat-gateway notifier:notifier nginx:nginx)
STOP_ORDER=(notifier:notifier gateway-b:chat-gateway gateway-a:chat-gateway accounts-api:accounts-api nginx:nginx)

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }

apt_install() {
    [[ $EUID -eq 0 ]] || die "$* is missing and installing it needs root (apt-get install $*)"
    log "installing $* from Debian packages"
    # Another apt may hold the lock (a parallel provisioning step): wait instead of failing.
    # The package lists may be absent on a fresh machine, hence the update on failure.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" \
        || { apt-get -o DPkg::Lock::Timeout=600 update \
             && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@"; }
}

wait_for() { # description timeout-secs command...
    local what="$1" timeout="$2" start=$SECONDS
    shift 2
    until "$@"; do
        ((SECONDS - start < timeout)) || die "timed out after ${timeout}s waiting for $what"
        sleep 0.5
    done
}

# nginx started as root runs its workers as this user (named on its command line, so these
# checks and nginx agree); started as anyone else, the workers stay that user.
WORKER_USER=""
[[ $EUID -eq 0 ]] && WORKER_USER=nobody

as_worker() { # command...: runs it with the nginx workers' identity
    if [[ -z "$WORKER_USER" ]]; then
        "$@"
    else
        setpriv --reuid="$WORKER_USER" --regid="$(id -g "$WORKER_USER")" --clear-groups -- "$@"
    fi
}

nginx_user_args() {
    [[ -n "$WORKER_USER" ]] && printf '%s\n' -g "user $WORKER_USER $(id -gn "$WORKER_USER");"
    return 0
}

# Where nginx keeps its pid file and temp files: $RUNTIME_DIR, or the directory
# prepare_nginx_dir made because the workers could not reach $RUNTIME_DIR.
nginx_dir() {
    if [[ -s "$RUNTIME_DIR/nginx_dir" ]]; then cat "$RUNTIME_DIR/nginx_dir"; else printf '%s\n' "$RUNTIME_DIR"; fi
}

remove_nginx_dir() {
    local dir
    [[ -s "$RUNTIME_DIR/nginx_dir" ]] || return 0
    dir="$(<"$RUNTIME_DIR/nginx_dir")"
    # Only what prepare_nginx_dir made: a stray path in the file must not be deleted.
    [[ "$(basename "$dir")" == carinfo-nginx.* ]] && rm -rf "$dir"
    rm -f "$RUNTIME_DIR/nginx_dir"
}

web_root_readable() { # dir: the pages the ingress serves, as the workers see them
    # shellcheck disable=SC2016 # expanded by that sh, as the workers' user
    as_worker sh -c 'for f in "$1/visitor.html" "$1/app.html" "$1"/static/*; do [ -r "$f" ] || exit 1; done' sh "$1"
}

# Sets NGINX_DIR and SERVED_WEB_ROOT to places the nginx workers can reach.
prepare_nginx_dir() {
    remove_nginx_dir
    rm -rf "$RUNTIME_DIR/web-copy"
    NGINX_DIR="$RUNTIME_DIR"
    if ! as_worker test -x "$RUNTIME_DIR"; then
        NGINX_DIR="$(mktemp -d "${TMPDIR:-/tmp}/carinfo-nginx.XXXXXX")"
        printf '%s\n' "$NGINX_DIR" >"$RUNTIME_DIR/nginx_dir"
        chmod 0711 "$NGINX_DIR"
        # nginx.conf names $NGINX_DIR/logs; the master opens the logs as root, so they
        # can stay with the services' logs.
        ln -s "$RUNTIME_DIR/logs" "$NGINX_DIR/logs"
        as_worker test -x "$NGINX_DIR" \
            || die "nginx's workers ($WORKER_USER) can reach neither $RUNTIME_DIR nor $NGINX_DIR; set RUNTIME_DIR or TMPDIR to a directory they can reach"
        log "nginx's workers ($WORKER_USER) cannot reach $RUNTIME_DIR; its pid and temp files are in $NGINX_DIR"
    fi
    mkdir -p "$NGINX_DIR/tmp"
    SERVED_WEB_ROOT="$WEB_ROOT"
    if ! web_root_readable "$WEB_ROOT"; then
        SERVED_WEB_ROOT="$NGINX_DIR/web-copy"
        log "nginx's workers cannot read $WEB_ROOT; serving a copy from $SERVED_WEB_ROOT (restart to pick up edits)"
        mkdir -p "$SERVED_WEB_ROOT"
        tar -C "$WEB_ROOT" --exclude=./e2e --exclude=node_modules -cf - . | tar -C "$SERVED_WEB_ROOT" --no-same-owner -xf -
        chmod -R a+rX "$SERVED_WEB_ROOT"
        web_root_readable "$SERVED_WEB_ROOT" \
            || die "nginx's workers ($WORKER_USER) cannot read the copy of the web root in $SERVED_WEB_ROOT; set RUNTIME_DIR or TMPDIR to a directory they can reach"
    fi
}

psql_admin() { psql -v ON_ERROR_STOP=1 -X -q -U "$PG_USER" -h "$PG_HOST" -p "$PG_PORT" -d postgres "$@"; }

# Postgres and NATS are the same loopback backends the test suite uses, so one script
# installs and starts them for both.
ensure_backends() {
    "$repo/deploy/ensure-backends.sh" >&2
    # Postgres may have been there already, without the client this script needs.
    command -v psql >/dev/null || apt_install postgresql-client
    psql_admin -c 'select 1' >/dev/null \
        || die "cannot log in to PostgreSQL as $PG_USER on $PG_HOST:$PG_PORT (set PGPASSWORD or PG_USER)"
}

ensure_nginx() {
    command -v nginx >/dev/null || apt_install nginx
}

ensure_database() {
    local db="$1"
    # The name is interpolated into SQL below.
    [[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '$db' must match [a-z_][a-z0-9_]*"
    if [[ "$(psql_admin -tA -c "select 1 from pg_database where datname = '$db'")" != 1 ]]; then
        log "creating database $db"
        psql_admin -c "create database $db"
    fi
}

jwt_secret() {
    if [[ -n "${JWT_SECRET:-}" ]]; then
        printf '%s' "$JWT_SECRET"
        return
    fi
    local file="$RUNTIME_DIR/jwt_secret"
    # Generated once and kept, so tokens issued before a restart stay valid.
    if [[ ! -s "$file" ]]; then
        (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$file")
    fi
    cat "$file"
}

vapid_private_key() {
    if [[ -n "${VAPID_PRIVATE_KEY:-}" ]]; then
        printf '%s' "$VAPID_PRIVATE_KEY"
        return
    fi
    local file="$RUNTIME_DIR/vapid_private_key"
    # Generated once and kept: browsers subscribed with its public half.
    if [[ ! -s "$file" ]]; then
        (umask 077 && "$BIN_DIR/notifier" generate-vapid-key >"$file")
    fi
    cat "$file"
}

pid_of() { # name -> pid on stdout if that process is alive and is what we started
    local name="$1" binary="$2" file="$RUNTIME_DIR/$1.pid" pid
    [[ "$name" == nginx ]] && file="$(nginx_dir)/nginx.pid"
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    # A stale pid file may name an unrelated process that reused the pid.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$binary" || return 1
    printf '%s\n' "$pid"
}

build() {
    if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
        log "SKIP_BUILD=1: using binaries from $BIN_DIR"
    else
        log "building release binaries (cargo build --release -p accounts-api -p chat-gateway -p notifier)"
        (cd "$repo" && cargo build --release -p accounts-api -p chat-gateway -p notifier)
    fi
    local bin
    for bin in accounts-api chat-gateway notifier; do
        [[ -x "$BIN_DIR/$bin" ]] || die "$BIN_DIR/$bin not found (build it, or set BIN_DIR)"
    done
}

start_service() { # name binary port replica-id database-url [NAME=value...]
    local name="$1" binary="$2" port="$3" replica="$4" database_url="$5"
    shift 5
    log "starting $name on $HOST:$port"
    # `env` and `nohup` both exec, so $! is the service's own pid.
    env LISTEN_ADDR="$HOST:$port" \
        DATABASE_URL="$database_url" \
        NATS_URL="nats://$NATS_HOST:$NATS_PORT" \
        NATS_SUBJECT_PREFIX="$NATS_SUBJECT_PREFIX" \
        JWT_SECRET="$SECRET" \
        TRUST_FORWARDED_FOR=true \
        REPLICA_ID="$replica" \
        LOG_FORMAT="${LOG_FORMAT:-compact}" \
        RUST_LOG="${RUST_LOG:-info}" \
        "$@" \
        nohup "$BIN_DIR/$binary" </dev/null >"$RUNTIME_DIR/logs/$name.log" 2>&1 &
    echo $! >"$RUNTIME_DIR/$name.pid"
}

ready() { curl -fs -o /dev/null --max-time 2 "$1"; }

wait_ready() { # name binary url
    local name="$1" binary="$2" url="$3" start=$SECONDS
    until ready "$url"; do
        if ! pid_of "$name" "$binary" >/dev/null; then
            tail -n 30 "$RUNTIME_DIR/logs/$name.log" >&2 || true
            die "$name exited before it was ready (log: $RUNTIME_DIR/logs/$name.log)"
        fi
        if ((SECONDS - start >= READY_TIMEOUT_SECS)); then
            tail -n 30 "$RUNTIME_DIR/logs/$name.log" >&2 || true
            die "$name not ready at $url after ${READY_TIMEOUT_SECS}s"
        fi
        sleep 0.5
    done
    log "$name ready"
}

render_nginx() {
    mkdir -p "$RUNTIME_DIR/logs"
    prepare_nginx_dir
    "$repo/deploy/nginx/render.sh" "$RUNTIME_DIR/nginx.conf" \
        LISTEN_PORT="$HOST:$CLUSTER_PORT" \
        ACCOUNTS_UPSTREAM="$HOST:$ACCOUNTS_PORT" \
        GATEWAY_A_UPSTREAM="$HOST:$GATEWAY_A_PORT" \
        GATEWAY_B_UPSTREAM="$HOST:$GATEWAY_B_PORT" \
        NOTIFIER_UPSTREAM="$HOST:$NOTIFIER_PORT" \
        WEB_ROOT="$SERVED_WEB_ROOT" \
        RUNTIME_DIR="$NGINX_DIR" \
        TEST_TOPOLOGY="$TEST_TOPOLOGY"
    mapfile -t NGINX_USER_ARGS < <(nginx_user_args)
    # -e: the compiled-in error log (/var/log/nginx) is not writable by everyone.
    nginx -t -q -p "$NGINX_DIR" -c "$RUNTIME_DIR/nginx.conf" -e "$RUNTIME_DIR/logs/error.log" "${NGINX_USER_ARGS[@]}"
}

stop() {
    local entry name binary pid signal
    for entry in "${STOP_ORDER[@]}"; do
        name="${entry%%:*}"
        binary="${entry#*:}"
        if pid="$(pid_of "$name" "$binary")"; then
            # nginx drains on QUIT; the services drain on TERM (sockets closed with 1001).
            signal=TERM
            [[ "$name" == nginx ]] && signal=QUIT
            log "stopping $name (pid $pid)"
            kill "-$signal" "$pid" 2>/dev/null || true
            local start=$SECONDS
            while kill -0 "$pid" 2>/dev/null && ((SECONDS - start < 20)); do sleep 0.2; done
            if kill -0 "$pid" 2>/dev/null; then
                log "$name did not stop within 20s; killing it"
                if [[ "$name" == nginx ]]; then
                    # The daemonised master leads its own process group; killing only the
                    # master would leave its workers serving.
                    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
                else
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            fi
        fi
        rm -f "$RUNTIME_DIR/$name.pid"
    done
    remove_nginx_dir
}

status() {
    local entry name binary pid url
    for entry in "${PROCESSES[@]}"; do
        name="${entry%%:*}"
        binary="${entry#*:}"
        case "$name" in
            accounts-api) url="http://$HOST:$ACCOUNTS_PORT/readyz" ;;
            gateway-a) url="http://$HOST:$GATEWAY_A_PORT/readyz" ;;
            gateway-b) url="http://$HOST:$GATEWAY_B_PORT/readyz" ;;
            notifier) url="http://$HOST:$NOTIFIER_PORT/readyz" ;;
            nginx) url="http://$HOST:$CLUSTER_PORT/healthz" ;;
        esac
        if pid="$(pid_of "$name" "$binary")"; then
            if ready "$url" 2>/dev/null; then
                printf '%-13s pid %-8s ready    %s\n' "$name" "$pid" "$url"
            else
                printf '%-13s pid %-8s starting %s\n' "$name" "$pid" "$url"
            fi
        else
            printf '%-13s stopped\n' "$name"
        fi
    done
}

pids() {
    local entry name binary pid
    for entry in "${PROCESSES[@]}"; do
        name="${entry%%:*}"
        binary="${entry#*:}"
        if pid="$(pid_of "$name" "$binary")"; then printf '%s=%s\n' "$name" "$pid"; fi
    done
}

start() {
    mkdir -p "$RUNTIME_DIR/logs"
    # A second `start` replaces the first instead of failing on busy ports.
    stop
    # A half-started cluster would hold the ports and confuse the next attempt.
    trap 'rc=$?; if ((rc != 0)); then log "start failed; stopping what was started"; stop; fi' EXIT

    ensure_nginx
    render_nginx
    ensure_backends
    ensure_database "$ACCOUNTS_DB"
    ensure_database "$CHAT_DB"
    ensure_database "$NOTIFIER_DB"
    build

    # Empty values would reach the services as present-but-empty settings and be refused.
    local var
    for var in JWT_PREVIOUS_SECRETS OTEL_EXPORTER_OTLP_ENDPOINT; do
        [[ -n "${!var:-}" ]] || unset "$var"
    done
    SECRET="$(jwt_secret)"
    local vapid
    vapid="$(vapid_private_key)"

    local pg="postgres://$PG_USER@$PG_HOST:$PG_PORT"
    # No start order: every process creates the JetStream streams it needs, and the
    # gateways know owners from events, not from accounts-api being up.
    start_service accounts-api accounts-api "$ACCOUNTS_PORT" accounts-api "$pg/$ACCOUNTS_DB"
    start_service gateway-a chat-gateway "$GATEWAY_A_PORT" gateway-a "$pg/$CHAT_DB"
    start_service gateway-b chat-gateway "$GATEWAY_B_PORT" gateway-b "$pg/$CHAT_DB"
    start_service notifier notifier "$NOTIFIER_PORT" notifier "$pg/$NOTIFIER_DB" \
        VAPID_PRIVATE_KEY="$vapid"
    wait_ready accounts-api accounts-api "http://$HOST:$ACCOUNTS_PORT/readyz"
    wait_ready gateway-a chat-gateway "http://$HOST:$GATEWAY_A_PORT/readyz"
    wait_ready gateway-b chat-gateway "http://$HOST:$GATEWAY_B_PORT/readyz"
    wait_ready notifier notifier "http://$HOST:$NOTIFIER_PORT/readyz"

    log "starting nginx on $HOST:$CLUSTER_PORT"
    nginx -p "$NGINX_DIR" -c "$RUNTIME_DIR/nginx.conf" -e "$RUNTIME_DIR/logs/error.log" "${NGINX_USER_ARGS[@]}"
    wait_for "nginx pid file" 10 test -s "$NGINX_DIR/nginx.pid"
    wait_ready nginx nginx "http://$HOST:$CLUSTER_PORT/healthz"

    trap - EXIT
    local base="http://$HOST:$CLUSTER_PORT" pinning=""
    [[ "$TEST_TOPOLOGY" == on ]] && pinning="  (&replica=a|b pins a replica)"
    cat <<EOF

CarInfo cluster is up (runtime dir: $RUNTIME_DIR)
  ingress        $base            (REST base also under $base/back)
  web app        $base/app/
  visitor page   $base/u/<user_id>
  API docs       $base/api/docs/   $base/api/redoc/   $base/api/schema/   $base/api/asyncapi/
  WebSocket      ws://$HOST:$CLUSTER_PORT/ws/chat/<room_id>/?visitor=<token>$pinning
  accounts-api   http://$HOST:$ACCOUNTS_PORT   (/healthz /readyz /metrics)
  gateway-a      http://$HOST:$GATEWAY_A_PORT   (/healthz /readyz /metrics)
  gateway-b      http://$HOST:$GATEWAY_B_PORT   (/healthz /readyz /metrics)
  notifier       http://$HOST:$NOTIFIER_PORT   (/healthz /readyz /metrics; push: $base/api/push/)
  databases      $pg/$ACCOUNTS_DB  $pg/$CHAT_DB  $pg/$NOTIFIER_DB
  NATS           nats://$NATS_HOST:$NATS_PORT  (subject prefix: '${NATS_SUBJECT_PREFIX}')
  logs           $RUNTIME_DIR/logs/
  stop with      RUNTIME_DIR=$RUNTIME_DIR $repo/deploy/cluster.sh stop
EOF
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    pids) pids ;;
    *) echo "usage: $0 [start|stop|status|pids]" >&2; exit 2 ;;
esac
