#!/usr/bin/env bash
# The browser and cluster stories as CI runs them, against the debug binaries the test suite
# built before (nothing here builds):
#   1. the embedded default: target/debug/carinfo on a free port with a fresh DATA_DIR, and
#      the browser story (run.sh) against it;
#   2. the production topology: deploy/cluster.sh (nginx, accounts-api, two gateway
#      replicas, the notifier, Postgres, NATS) on free ports with databases and a NATS
#      subject prefix of its own, the services logging at RUST_LOG=debug, the API story
#      (deploy/cluster-e2e.mjs) through its ingress, then the browser story again with the
#      visitor on replica A and the owner on replica B;
#   3. the log scan: once the cluster has stopped, no log it wrote (the services', nginx's
#      access and error logs) may hold a token, password or phone number the API story used,
#      nor the signing key or the VAPID private key (deploy/check-logs-for-secrets.py).
# The browser story runs its own push service on loopback for the notifier to push to, so
# both topologies start with PUSH_ALLOW_PRIVATE_ENDPOINTS=true (never in production).
# Everything started here is stopped, and the cluster's databases dropped, however it ends.
# Screenshots: test-artifacts/e2e/{standalone,cluster}; the services' logs are copied
# next to them when a story fails.
#
#   BIN_DIR (target/debug)   where accounts-api, chat-gateway, notifier and carinfo are
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
BIN_DIR="$(realpath -m "${BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/debug}")"
artifacts="$repo/test-artifacts/e2e"
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '\n[e2e] %s\n' "$*" >&2; }
die() { printf '[e2e] error: %s\n' "$*" >&2; exit 1; }

for bin in carinfo accounts-api chat-gateway notifier; do
    [[ -x "$BIN_DIR/$bin" ]] || die "$BIN_DIR/$bin is missing (the test suite builds it: cargo build --workspace)"
done

free_ports() { python3 "$repo/deploy/free-ports.py" "$1"; }

wait_http() { # url timeout-secs pid
    local url="$1" timeout="$2" pid="$3" start=$SECONDS
    until curl -fs -o /dev/null --max-time 2 "$url"; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS - start < timeout)) || return 1
        sleep 0.3
    done
}

# Lower case, digits and underscores: it becomes part of database names and of NATS subjects.
run_id="e2e_$(date +%s)_$$"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/carinfo-e2e.XXXXXX")"
standalone_pid=""
cluster_started=0
export RUNTIME_DIR="$repo/target/$run_id-cluster"
export ACCOUNTS_DB="${run_id}_accounts"
export CHAT_DB="${run_id}_chat"
export NOTIFIER_DB="${run_id}_notifier"
export NATS_SUBJECT_PREFIX="$run_id."
# The story's push service listens on 127.0.0.1 over http; the notifier refuses such
# endpoints unless told otherwise.
export PUSH_ALLOW_PRIVATE_ENDPOINTS=true

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$standalone_pid" ]] && kill -0 "$standalone_pid" 2>/dev/null; then
        kill -TERM "$standalone_pid"
        wait "$standalone_pid" 2>/dev/null
    fi
    if ((cluster_started)); then
        if ((rc != 0)) && [[ -d "$RUNTIME_DIR/logs" ]]; then
            mkdir -p "$artifacts/cluster/logs"
            cp "$RUNTIME_DIR"/logs/*.log "$artifacts/cluster/logs/" 2>/dev/null
        fi
        "$repo/deploy/cluster.sh" stop
        local db
        for db in "$ACCOUNTS_DB" "$CHAT_DB" "$NOTIFIER_DB"; do
            psql -X -q -U postgres -h 127.0.0.1 -d postgres -c "drop database if exists $db with (force)" \
                || echo "[e2e] could not drop database $db" >&2
        done
        local streams
        streams="$(tr '[:lower:]' '[:upper:]' <<<"$NATS_SUBJECT_PREFIX" | tr -c 'A-Z0-9\n' '_')"
        "$repo/deploy/delete-nats-streams.py" "${streams}ACCOUNTS" "${streams}CHAT" || echo "[e2e] could not delete the run's NATS streams" >&2
    fi
    rm -rf "$scratch" "$RUNTIME_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Both stories need playwright-core; the cluster story needs ws. run.sh installs only when
# playwright-core is missing, so an older node_modules would lack ws.
if [[ ! -d "$here/node_modules/playwright-core" || ! -d "$here/node_modules/ws" ]]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi
rm -rf "$artifacts/standalone" "$artifacts/cluster"

# --- 1. the embedded default ------------------------------------------------------------------
log "browser story against the embedded default ($BIN_DIR/carinfo)"
read -r port < <(free_ports 1)
data_dir="$scratch/standalone-data"
mkdir -p "$data_dir"
DATA_DIR="$data_dir" LISTEN_ADDR="127.0.0.1:$port" "$BIN_DIR/carinfo" serve \
    >"$scratch/carinfo.log" 2>&1 &
standalone_pid=$!
if ! wait_http "http://127.0.0.1:$port/healthz" 60 "$standalone_pid"; then
    tail -n 40 "$scratch/carinfo.log" >&2
    die "carinfo did not become ready on 127.0.0.1:$port"
fi
if ! CARINFO_URL="http://127.0.0.1:$port" \
    ISSUE_STICKER_CMD="DATA_DIR='$data_dir' RUST_LOG=warn '$BIN_DIR/carinfo' stickers issue --count 1" \
    SCREENSHOT_DIR="$artifacts/standalone" \
    "$here/run.sh"; then
    mkdir -p "$artifacts/standalone"
    cp "$scratch/carinfo.log" "$artifacts/standalone/carinfo.log"
    die "browser story failed against the embedded default (log: $artifacts/standalone/carinfo.log)"
fi
kill -TERM "$standalone_pid"
wait "$standalone_pid" || true
standalone_pid=""

# --- 2. the cluster ---------------------------------------------------------------------------
log "cluster: nginx, accounts-api, two gateway replicas and the notifier ($RUNTIME_DIR)"
read -r CLUSTER_PORT ACCOUNTS_PORT GATEWAY_A_PORT GATEWAY_B_PORT NOTIFIER_PORT < <(free_ports 5)
export CLUSTER_PORT ACCOUNTS_PORT GATEWAY_A_PORT GATEWAY_B_PORT NOTIFIER_PORT
cluster_started=1
# Debug logs must keep secrets out too, so the log scan below reads them.
SKIP_BUILD=1 BIN_DIR="$BIN_DIR" RUST_LOG="${CLUSTER_RUST_LOG:-debug}" "$repo/deploy/cluster.sh" start

base="http://127.0.0.1:$CLUSTER_PORT"
issue_cmd="DATABASE_URL='postgres://postgres@127.0.0.1:5432/$ACCOUNTS_DB' RUST_LOG=warn '$BIN_DIR/accounts-api' stickers issue --count 1"

log "API story through the ingress, visitor on gateway-a, owner on gateway-b"
CARINFO_URL="$base" ISSUE_STICKER_CMD="$issue_cmd" \
    GATEWAY_A_UPSTREAM="127.0.0.1:$GATEWAY_A_PORT" GATEWAY_B_UPSTREAM="127.0.0.1:$GATEWAY_B_PORT" \
    SECRETS_OUT="$scratch/cluster-secrets.json" \
    node "$repo/deploy/cluster-e2e.mjs" || die "cluster API story failed (service logs: $artifacts/cluster/logs)"

log "browser story through the cluster, visitor pinned to replica A, owner to replica B"
CARINFO_URL="$base" ISSUE_STICKER_CMD="$issue_cmd" \
    VISITOR_REPLICA=a OWNER_REPLICA=b \
    SCREENSHOT_DIR="$artifacts/cluster" \
    "$here/run.sh" || die "browser story failed through the cluster (service logs: $artifacts/cluster/logs)"

# --- 3. no secret in any log ------------------------------------------------------------------
log "log scan: the cluster's logs hold none of the API story's secrets"
# Stopped first, so the shutdown lines are in the logs too.
"$repo/deploy/cluster.sh" stop
scan_args=()
# cluster.sh generated the signing and VAPID keys unless the caller gave them.
[[ -s "$RUNTIME_DIR/jwt_secret" ]] && scan_args+=(--secret-file "JWT signing key=$RUNTIME_DIR/jwt_secret")
[[ -s "$RUNTIME_DIR/vapid_private_key" ]] && scan_args+=(--secret-file "VAPID private key=$RUNTIME_DIR/vapid_private_key")
python3 "$repo/deploy/check-logs-for-secrets.py" "$scratch/cluster-secrets.json" "$RUNTIME_DIR/logs" \
    "${scan_args[@]}" \
    --expect "access.log=/api/login/" --expect "error.log=" \
    --expect "accounts-api.log=accounts-api listening" --expect "accounts-api.log=DEBUG" \
    --expect "gateway-a.log=chat-gateway listening" --expect "gateway-b.log=chat-gateway listening" \
    --expect "notifier.log=notifier listening" \
    || die "a secret reached the cluster's logs (logs: $artifacts/cluster/logs)"

log "both stories passed and the logs hold no secret (screenshots: $artifacts)"
