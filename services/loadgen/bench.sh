#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md, reproducibly: release builds of accounts-api and one
# chat-gateway replica on Postgres + NATS (rate limits off), then
#   1. wrk: GET /user/<uuid>/ and GET /api/profile/ (requests/s, p99)
#   2. wrk: POST /api/login/ at the default argon2 cost (logins/s)
#   3. carinfo-loadgen chat: closed loop (capacity) and open loop at 2,000 msg/s (latency)
#   4. carinfo-loadgen idle: server RSS per idle socket, one room per socket (each visitor
#      has a room of their own)
# Results (JSON and wrk output) go to bench-results/<timestamp>/.
#
# Knobs: ROOMS (200), DURATION (15), IDLE_SOCKETS (18000: the machine's RLIMIT_NOFILE is
# 20000 per process), WRK_SECONDS (10), WRK_CONNECTIONS (64), SKIP_BUILD=1.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

ROOMS="${ROOMS:-200}"
DURATION="${DURATION:-15}"
IDLE_SOCKETS="${IDLE_SOCKETS:-18000}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-64}"
ACCOUNTS_PORT=19001
GATEWAY_PORT=19002
out="$repo/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
export PATH="$PATH:/usr/sbin:/sbin"

deploy/ensure-backends.sh >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -p accounts-api -p chat-gateway -p loadgen
fi
bin="$repo/target/release"

prefix="bench$(date +%s)."
for db in bench_accounts bench_chat; do
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "drop database if exists $db with (force)" -c "create database $db" >/dev/null
done
secret="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Rate limits off, and the per-address connection cap lifted: every load comes from a few
# loopback addresses. The memory bounds (sockets per room, hashing threads) stay as shipped.
common=(env JWT_SECRET="$secret" NATS_URL=nats://127.0.0.1:4222 NATS_SUBJECT_PREFIX="$prefix" RATE_LIMITS=off
  MAX_CONNECTIONS_PER_ADDRESS=20000 NATS_CHAT_STREAM_MAX_BYTES=268435456 NATS_ACCOUNTS_STREAM_MAX_BYTES=67108864
  RUST_LOG=warn)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

"${common[@]}" LISTEN_ADDR=127.0.0.1:$ACCOUNTS_PORT DATABASE_URL=postgres://postgres@127.0.0.1/bench_accounts \
  "$bin/accounts-api" >"$out/accounts-api.log" 2>&1 &
pids+=($!)
"${common[@]}" LISTEN_ADDR=127.0.0.1:$GATEWAY_PORT DATABASE_URL=postgres://postgres@127.0.0.1/bench_chat REPLICA_ID=bench \
  DATABASE_MAX_CONNECTIONS=16 "$bin/chat-gateway" >"$out/chat-gateway.log" 2>&1 &
gateway_pid=$!
pids+=($gateway_pid)
for port in $ACCOUNTS_PORT $GATEWAY_PORT; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
done

# One owner; the chat benchmark opens many rooms with it.
owner=$(DATABASE_URL=postgres://postgres@127.0.0.1/bench_accounts RUST_LOG=off "$bin/accounts-api" stickers issue --count 1)
phone="+99890$(shuf -i 1000000-9999999 -n 1)"
curl -fs -X POST "http://127.0.0.1:$ACCOUNTS_PORT/api/user/register/" -H 'Content-Type: application/json' \
  -d "{\"user_id\":\"$owner\",\"phone_number\":\"$phone\",\"password\":\"secret123\",\"car_model\":\"Cobalt\"}" >/dev/null
access=$(curl -fs -X POST "http://127.0.0.1:$ACCOUNTS_PORT/api/login/" -H 'Content-Type: application/json' \
  -d "{\"phone_number\":\"$phone\",\"password\":\"secret123\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access"])')
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GATEWAY_PORT/api/chat/start/" -H 'Content-Type: application/json' -d "{\"user_id\":\"$owner\"}")
  [ "$code" = 201 ] && break
  sleep 0.2
done

echo "== wrk GET /user/<uuid>/" | tee "$out/http.txt"
wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$ACCOUNTS_PORT/user/$owner/" | tee -a "$out/http.txt"
echo "== wrk GET /api/profile/" | tee -a "$out/http.txt"
wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $access" \
  "http://127.0.0.1:$ACCOUNTS_PORT/api/profile/" | tee -a "$out/http.txt"
cat >"$out/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"phone_number":"$phone","password":"secret123"}'
LUA
echo "== wrk POST /api/login/ (argon2id m=19456 KiB, t=2, p=1)" | tee -a "$out/http.txt"
wrk -t2 -c8 -d"${WRK_SECONDS}s" --latency -s "$out/login.lua" "http://127.0.0.1:$ACCOUNTS_PORT/api/login/" | tee -a "$out/http.txt"

lg=("$bin/carinfo-loadgen")
chat_args=(--base "http://127.0.0.1:$GATEWAY_PORT" --accounts "http://127.0.0.1:$ACCOUNTS_PORT" --owner-id "$owner"
  --phone "$phone" --password secret123 --server-pid "$gateway_pid" --duration-secs "$DURATION")
echo "== chat closed loop, $ROOMS rooms"
"${lg[@]}" chat "${chat_args[@]}" --rooms "$ROOMS" --mode closed | tee "$out/chat-closed.json"
echo "== chat open loop, 2000 msg/s, $ROOMS rooms"
"${lg[@]}" chat "${chat_args[@]}" --rooms "$ROOMS" --mode open --rate 2000 | tee "$out/chat-open-2000.json"
echo "== idle sockets: $IDLE_SOCKETS"
"${lg[@]}" idle --base "http://127.0.0.1:$GATEWAY_PORT" --owner-id "$owner" --sockets "$IDLE_SOCKETS" \
  --rooms "$IDLE_SOCKETS" --sources 8 --server-pid "$gateway_pid" | tee "$out/idle.json"
echo "results in $out"
