# The command index. Every recipe is a one-liner over cargo or a script; `just` is optional.

# List the recipes.
default:
    @just --list

# README command 1: the whole system on its embedded default (SQLite, no servers).
run:
    cargo run -p standalone

# README command 2: the full test suite against the real Postgres and NATS (installed/started if needed).
test:
    cargo nextest run --workspace

# Formatting and lints, as CI runs them.
check:
    cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    .ci/run

# Postgres and NATS on loopback (installed from Debian if missing, started if stopped).
up:
    deploy/ensure-backends.sh

# The production topology on one machine: nginx ingress, accounts-api, two chat-gateway replicas, the notifier.
cluster:
    deploy/cluster.sh

# Stop the cluster.
cluster-stop:
    deploy/cluster.sh stop

# The benchmarks of docs/benchmarks.md, on an isolated cluster (knobs: see the script's header).
bench:
    services/loadgen/bench.sh

# The same, with perf profiles of gateway A (closed loop) and accounts-api (wrk).
bench-profile:
    PROFILE=1 services/loadgen/bench.sh

# The hostile-client figures of docs/benchmarks.md ("Under attack").
abuse:
    services/loadgen/abuse.sh

# Validate the deploy artifacts (YAML schemas, nginx -t).
validate:
    deploy/validate.sh

# The container images built from release binaries and run as the cluster, as CI does (root, podman).
images:
    cargo build --release --locked -p accounts-api -p chat-gateway -p notifier && deploy/containers.sh

# Validate docs/asyncapi.yaml with the official AsyncAPI parser (as CI does).
asyncapi:
    docs/asyncapi/check.sh

# Regenerate the merged OpenAPI document.
openapi:
    cargo run -q -p standalone -- print-openapi > docs/openapi.json

# Create a paired Postgres + SQLite migration: just migration chat add_something
migration service name:
    stamp=$(date -u +%Y%m%d%H%M%S); for b in postgres sqlite; do touch migrations/{{service}}/$b/${stamp}_{{name}}.sql; done
