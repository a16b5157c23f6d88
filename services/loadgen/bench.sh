#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md in one command. It starts an isolated copy of the
# cluster (deploy/cluster.sh: accounts-api, gateway replicas A and B, the nginx ingress in its
# test topology) on free ports, with databases and a NATS subject prefix of its own, rate
# limits off and unbounded JetStream streams, and measures:
#   1. chat, closed loop: CLOSED_ROOMS rooms (a visitor and an owner socket each), every
#      socket pinned to replica A through the ingress: delivered msgs/s, latency percentiles
#   2. chat, open loop at OPEN_RATE msgs/s: OPEN_ROOMS rooms, visitors on replica A and owners
#      on replica B through the ingress: p50/p99/p99.9 and lost messages (must be 0)
#   3. idle sockets: IDLE_SOCKETS visitor sockets, each in a room it started, straight to
#      replica A's port (through nginx each socket would cost two of nginx's descriptors):
#      replica A's RSS before and after, per socket
#   4. wrk -t2 -c64 --latency GET /user/<uuid>/ on accounts-api; and, cheap extras,
#      GET /api/profile/ and POST /api/login/
# Each run also records its CPU split: CPU seconds and average cores used by Postgres (the
# postmaster and all its processes), nats-server, each gateway replica, accounts-api, nginx
# (master and workers) and the load generator (carinfo-loadgen, or wrk under it).
# Results go to bench-results/<timestamp>/: one JSON per run, wrk's text, summary.md, the
# cluster's logs, the load average before each run. The cluster is stopped, its databases
# dropped and its streams deleted however the script ends.
#
# Knobs: CLOSED_ROOMS (50) OPEN_ROOMS (400) OPEN_RATE (2000) DURATION (15, measured seconds
# of each chat run) WARMUP (3) IDLE_SOCKETS (10000; one process may hold 20,000 descriptors)
# WRK_SECONDS (10) WRK_CONNECTIONS (64) SKIP_BUILD=1 (use target/release as it is)
# RUNS ("closed open idle http": which of the four to run), OPEN_OWNER_REPLICA (b; a puts the
# open loop's owners on the visitors' replica). Service settings (MESSAGE_WRITERS, ...) pass
# through to the cluster.
# PROFILE=1: perf record -F 999 -g on replica A during run 1 and on accounts-api during
# run 4; `perf report` of each lands next to the JSON.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
export PATH="$PATH:/usr/sbin:/sbin"

CLOSED_ROOMS="${CLOSED_ROOMS:-50}"
OPEN_ROOMS="${OPEN_ROOMS:-400}"
OPEN_RATE="${OPEN_RATE:-2000}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
IDLE_SOCKETS="${IDLE_SOCKETS:-10000}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-64}"
PROFILE="${PROFILE:-0}"
RUNS="${RUNS:-closed open idle http}"
bin="${CARGO_TARGET_DIR:-$repo/target}/release"
out="$repo/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

log() { printf '\n[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

deploy/ensure-backends.sh >/dev/null
command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk; }
if [[ "$PROFILE" == 1 ]]; then
    command -v perf >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq linux-perf; }
    # Containers often refuse perf_event_open (seccomp, perf_event_paranoid for non-root).
    perf record -F 999 -g -o /dev/null -- true >/dev/null 2>&1 \
        || die "PROFILE=1: perf cannot record here (perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)); see docs/benchmarks.md"
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binaries"
    nice -n 10 cargo build --release -p accounts-api -p chat-gateway -p loadgen
fi
for b in accounts-api chat-gateway carinfo-loadgen; do
    [[ -x "$bin/$b" ]] || die "$bin/$b is missing (cargo build --release -p accounts-api -p chat-gateway -p loadgen)"
done

# An isolated cluster: its own ports, databases, subject prefix (hence streams) and runtime dir.
run_id="bench_$(date +%s)_$$"
read -r CLUSTER_PORT ACCOUNTS_PORT GATEWAY_A_PORT GATEWAY_B_PORT < <(python3 deploy/free-ports.py 4)
export CLUSTER_PORT ACCOUNTS_PORT GATEWAY_A_PORT GATEWAY_B_PORT
export ACCOUNTS_DB="${run_id}_accounts" CHAT_DB="${run_id}_chat" NATS_SUBJECT_PREFIX="$run_id."
export RUNTIME_DIR="$repo/target/$run_id-cluster" BIN_DIR="$bin" SKIP_BUILD=1 TEST_TOPOLOGY=on
# Every load comes from a few loopback addresses, so rate limits are off and the per-address
# cap is lifted (behind the ingress it is nginx's, 256 per address: the sockets are spread
# over enough source addresses). Streams are unbounded: JetStream reserves a bounded stream's
# max_bytes for as long as it exists. The room cap is raised so a long closed loop cannot
# fill a room. The other bounds stay as shipped.
export RATE_LIMITS=off MAX_CONNECTIONS_PER_ADDRESS=20000 ROOM_MAX_MESSAGES=1000000
export NATS_CHAT_STREAM_MAX_BYTES=-1 NATS_ACCOUNTS_STREAM_MAX_BYTES=-1 RUST_LOG=warn

cleanup() {
    local rc=$?
    set +e
    [[ -n "${perf_pid:-}" ]] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
    deploy/cluster.sh stop
    mkdir -p "$out/logs" && cp "$RUNTIME_DIR"/logs/*.log "$out/logs/" 2>/dev/null
    local db
    for db in "$ACCOUNTS_DB" "$CHAT_DB"; do
        psql -X -q -U postgres -h 127.0.0.1 -d postgres -c "drop database if exists $db with (force)" \
            || echo "[bench] could not drop database $db" >&2
    done
    local streams
    streams="$(tr '[:lower:]' '[:upper:]' <<<"$NATS_SUBJECT_PREFIX" | tr -c 'A-Z0-9\n' '_')"
    deploy/delete-nats-streams.py "${streams}ACCOUNTS" "${streams}CHAT" || echo "[bench] could not delete the run's NATS streams" >&2
    rm -rf "$RUNTIME_DIR"
    exit "$rc"
}
trap cleanup EXIT
log "starting the cluster (ingress :$CLUSTER_PORT, accounts :$ACCOUNTS_PORT, gateways :$GATEWAY_A_PORT :$GATEWAY_B_PORT)"
deploy/cluster.sh start >"$out/cluster-start.txt"

# The processes the CPU is split over.
declare -A pid
while IFS='=' read -r name value; do pid[$name]="$value"; done < <(deploy/cluster.sh pids)
pg_data="$(psql -X -tA -U postgres -h 127.0.0.1 -d postgres -c 'show data_directory')"
pid[postgres]="$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null || pgrep -o -x postgres)"
pid[nats-server]="$(ss -ltnpH 'sport = :4222' 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)"
[[ -n "${pid[nats-server]}" ]] || pid[nats-server]="$(pgrep -o -x nats-server)"
watch=()
for name in postgres nats-server gateway-a gateway-b accounts-api nginx; do
    [[ -n "${pid[$name]:-}" ]] || die "no pid for $name"
    watch+=(--watch "$name=${pid[$name]}")
done
printf '%s\n' "${watch[@]}" | paste -d' ' - - >"$out/watched-pids.txt"

ingress="http://127.0.0.1:$CLUSTER_PORT"
accounts="http://127.0.0.1:$ACCOUNTS_PORT"
lg="$bin/carinfo-loadgen"

# One owner; the chat runs open their rooms with it through the ingress.
owner=$(DATABASE_URL="postgres://postgres@127.0.0.1/$ACCOUNTS_DB" RUST_LOG=off "$bin/accounts-api" stickers issue --count 1)
phone="+99890$(shuf -i 1000000-9999999 -n 1)"
password="bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
curl -fs -X POST "$ingress/api/user/register/" -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$owner\",\"phone_number\":\"$phone\",\"password\":\"$password\",\"car_model\":\"Cobalt\"}" >/dev/null
access=$(curl -fs -X POST "$ingress/api/login/" -H 'Content-Type: application/json' \
    -d "{\"phone_number\":\"$phone\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access"])')
# The gateways learn the owner from accounts-api's event; until then chat start answers 404.
for replica in a b; do
    for _ in $(seq 1 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ingress/api/chat/start/" -H "X-CarInfo-Replica: $replica" \
            -H 'Content-Type: application/json' -d "{\"user_id\":\"$owner\"}")
        [[ "$code" == 201 ]] && break
        sleep 0.2
    done
    [[ "$code" == 201 ]] || die "chat start on replica $replica answered $code"
done

perf_pid=""
profile_start() { # name pid
    [[ "$PROFILE" == 1 ]] || return 0
    perf record -F 999 -g -p "$2" -o "$out/perf-$1.data" >"$out/perf-$1.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
}
profile_stop() { # name
    [[ -n "$perf_pid" ]] || return 0
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf_pid=""
    # `|| true`: head closing the pipe early is not a failure (pipefail).
    {
        echo "# perf report --stdio --no-children (flat, self time) of $1"
        perf report -i "$out/perf-$1.data" --stdio --no-children -g none --percent-limit 0.3 2>/dev/null | head -n 80 || true
        echo
        echo "# perf report --stdio --no-children (call graphs)"
        perf report -i "$out/perf-$1.data" --stdio --no-children 2>/dev/null | head -n 80 || true
    } >"$out/profile-$1.txt"
}

# What else the machine was doing: the load average before each run.
note_load() { echo "$1: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/loadavg.txt"; }

wrk_run() { # name wrk-arguments...
    local name="$1"
    shift
    log "wrk $name"
    note_load "$name"
    "$lg" measure "${watch[@]}" -- wrk "$@" >"$out/$name.json"
}

# nginx allows 256 connections per client address: spread the sockets over enough of them.
sources_for() { echo $(( ($1 + 127) / 128 > 4 ? ($1 + 127) / 128 : 4 )); }
chat_args=(--base "$ingress" --accounts "$ingress" --owner-id "$owner" --phone "$phone" --password "$password"
    --duration-secs "$DURATION" --warmup-secs "$WARMUP" "${watch[@]}")

runs() { [[ " $RUNS " == *" $1 "* ]]; }

# The gateways' own view of a run: batches, commit and fan-out times, and how long a message
# waited for its commit, from the deltas of their /metrics histograms.
scrape() { # run-name phase
    local replica port
    for replica in a b; do
        port=$GATEWAY_A_PORT; [[ $replica == b ]] && port=$GATEWAY_B_PORT
        curl -fs "http://127.0.0.1:$port/metrics" >"$out/metrics-$1-$replica-$2.txt" || true
    done
}
commit_stats() { # run-name
    python3 - "$out" "$1" >>"$out/commits.md" <<'PY'
import re, sys
out, run = sys.argv[1:]
def read(path):
    values = {}
    for line in open(path):
        m = re.match(r"(chat_(?:commit_duration_seconds|commit_batch_size|fanout_duration_seconds|message_commit_wait_seconds)_(?:sum|count)) (\S+)", line)
        if m:
            values[m[1]] = float(m[2])
    return values
for replica in "ab":
    try:
        a, b = (read(f"{out}/metrics-{run}-{replica}-{p}.txt") for p in ("before", "after"))
    except OSError:
        continue
    d = {k: b.get(k, 0) - a.get(k, 0) for k in b}
    batches = d.get("chat_commit_batch_size_count", 0)
    if not batches:
        continue
    msgs = d["chat_commit_batch_size_sum"]
    print(f"| {run} | {replica.upper()} | {batches:,.0f} | {msgs / batches:.1f} | "
          f"{1000 * d['chat_commit_duration_seconds_sum'] / batches:.2f} ms | "
          f"{1000 * d['chat_fanout_duration_seconds_sum'] / batches:.2f} ms | "
          f"{1000 * d['chat_message_commit_wait_seconds_sum'] / max(d['chat_message_commit_wait_seconds_count'], 1):.2f} ms |")
PY
}
echo "| run | replica | batches | messages per batch | commit per batch | fan-out per batch | a message's wait for its commit |" >"$out/commits.md"
echo "|---|---|---|---|---|---|---|" >>"$out/commits.md"

# 1. Closed loop, one replica: every socket and chat start pinned to A.
runs closed && {
log "chat closed loop, $CLOSED_ROOMS rooms, replica A"
note_load chat-closed
scrape chat-closed before
profile_start chat-closed "${pid[gateway-a]}"
"$lg" chat "${chat_args[@]}" --rooms "$CLOSED_ROOMS" --mode closed --sources "$(sources_for $((2 * CLOSED_ROOMS)))" \
    --start-replica a --visitor-replica a --owner-replica a --server-pid "${pid[gateway-a]}" >"$out/chat-closed.json"
profile_stop chat-closed
scrape chat-closed after
commit_stats chat-closed
}

# 2. Open loop across replicas: visitors on A, owners on B.
runs open && {
log "chat open loop, $OPEN_RATE msgs/s, $OPEN_ROOMS rooms, visitors on A, owners on B"
note_load chat-open
scrape chat-open before
"$lg" chat "${chat_args[@]}" --rooms "$OPEN_ROOMS" --mode open --rate "$OPEN_RATE" --sources "$(sources_for $((2 * OPEN_ROOMS)))" \
    --start-replica a --visitor-replica a --owner-replica "${OPEN_OWNER_REPLICA:-b}" --server-pid "${pid[gateway-a]}" >"$out/chat-open.json"
scrape chat-open after
commit_stats chat-open
}

# 3. Idle sockets on replica A's own port, one room per socket.
runs idle && {
log "idle sockets: $IDLE_SOCKETS on replica A"
note_load idle
"$lg" idle --base "http://127.0.0.1:$GATEWAY_A_PORT" --owner-id "$owner" --sockets "$IDLE_SOCKETS" \
    --sources 8 --server-pid "${pid[gateway-a]}" "${watch[@]}" >"$out/idle.json"
}

# 4. GET /user/<uuid>/ on accounts-api, then the extras.
runs http && {
profile_start http-user "${pid[accounts-api]}"
wrk_run http-user -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "$accounts/user/$owner/"
profile_stop http-user
wrk_run http-profile -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $access" "$accounts/api/profile/"
cat >"$out/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"phone_number":"$phone","password":"$password"}'
LUA
wrk_run http-login -t2 -c8 -d"${WRK_SECONDS}s" --latency -s "$out/login.lua" "$accounts/api/login/"
}

python3 services/loadgen/summary.py "$out" >"$out/summary.md"
{ echo; echo "## The gateways' commits during the chat runs (their /metrics)"; echo; cat "$out/commits.md"; } >>"$out/summary.md"
cat "$out/summary.md"
log "results in $out"
for run in chat-closed chat-open; do
    [[ -f "$out/$run.json" ]] || continue
    lost="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lost"])' "$out/$run.json")"
    [[ "$lost" == 0 ]] || die "$run lost $lost messages"
done
