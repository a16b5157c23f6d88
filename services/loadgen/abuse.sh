#!/usr/bin/env bash
# "Under attack" in docs/benchmarks.md: the hostile-client cases of carinfo-loadgen's `abuse`
# mode against a release `carinfo` on its defaults (rate limits on), then the history case
# against a second one with RATE_LIMITS=off, so a 5,000-message room can be written in
# seconds instead of minutes. Results (JSON) go to bench-results/<timestamp>/.
#
# Knobs: HISTORY_MESSAGES (5000), SKIP_BUILD=1.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

HISTORY_MESSAGES="${HISTORY_MESSAGES:-5000}"
out="$repo/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -p standalone -p loadgen
fi
bin="$repo/target/release"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Starts carinfo on a fresh data directory and port, registers one owner; prints
# "<pid> <owner id> <phone>" (it runs in a subshell: the caller records the pid).
start_carinfo() {
  local port=$1 name=$2; shift 2
  local data="$out/$name-data"
  env "$@" DATA_DIR="$data" LISTEN_ADDR="127.0.0.1:$port" OPS_LISTEN_ADDR="127.0.0.1:$((port + 50))" \
    RUST_LOG=warn "$bin/carinfo" >"$out/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$((port + 50))/readyz" >/dev/null && break; sleep 0.2; done
  local owner phone
  owner=$(DATA_DIR="$data" RUST_LOG=off "$bin/carinfo" stickers issue --count 1)
  phone="+99890$(shuf -i 1000000-9999999 -n 1)"
  curl -fs -X POST "http://127.0.0.1:$port/api/user/register/" -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$owner\",\"phone_number\":\"$phone\",\"password\":\"secret123\"}" >/dev/null
  echo "$pid $owner $phone"
}

read -r pid owner phone < <(start_carinfo 18100 defaults)
pids+=("$pid")
echo "== abuse cases against carinfo on its defaults"
"$bin/carinfo-loadgen" abuse --base http://127.0.0.1:18100 --metrics-base http://127.0.0.1:18150 \
  --server-pid "$pid" --owner-id "$owner" --phone "$phone" --password secret123 \
  --cases throttle-memory,hashing,throttle-race,metrics-cardinality,sockets-per-visitor,slowloris \
  | tee "$out/abuse-defaults.json"

read -r pid owner phone < <(start_carinfo 18101 history RATE_LIMITS=off)
pids+=("$pid")
echo "== history case, RATE_LIMITS=off, $HISTORY_MESSAGES messages"
"$bin/carinfo-loadgen" abuse --base http://127.0.0.1:18101 --server-pid "$pid" --owner-id "$owner" \
  --cases history-memory --history-messages "$HISTORY_MESSAGES" --history-rate 0 \
  | tee "$out/abuse-history.json"
echo "results in $out"
