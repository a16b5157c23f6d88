# syntax=docker/dockerfile:1.7
# notifier: Web Push notifications to owners (new chats, visitor messages), fed by the chat
# events.
# The build context is the repository root: cargo needs every workspace member's manifest,
# Cargo.lock and migrations/, and accounts-api embeds docs/openapi.json and its assets/.
#   docker build -f deploy/docker/notifier.Dockerfile -t carinfo/notifier .
#
# The runtime stage (the last one) is the image; it takes the binary from the stage that
# BINARY_FROM names. `builder` (the default) compiles it here. `prebuilt` takes a release
# binary built beforehand from a build context holding it (only it: target/release also
# holds gigabytes of intermediate files), which is how CI builds this same image from the
# binaries it has already tested (deploy/containers.sh):
#   mkdir ctx && cp target/release/notifier ctx/
#   docker build -f deploy/docker/notifier.Dockerfile --build-arg BINARY_FROM=prebuilt \
#     -t carinfo/notifier ctx
# BASE_IMAGE is the runtime stage's Debian; CI passes one made with debootstrap, because it
# cannot pull from a registry.

ARG BASE_IMAGE=debian:bookworm-slim
ARG BINARY_FROM=builder

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# rust-toolchain.toml says "stable"; the image's toolchain is installed under its version
# number, and naming it keeps rustup from downloading a second copy of the same release.
# The cache mounts keep the registry and the dependency builds between image builds;
# the binary is copied out because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,id=carinfo-target \
    export RUSTUP_TOOLCHAIN="$RUST_VERSION" \
    && cargo build --release --locked -p notifier \
    && install -D -m 0755 target/release/notifier /out/notifier

# Only the binary: the build context is the directory that holds it.
FROM scratch AS prebuilt
COPY notifier /out/notifier

# Unused stages are not built, so the runtime stage never waits on the other source.
FROM ${BINARY_FROM} AS binary
# An instruction of its own: without one, podman 4 builds without a layer cache (as CI does)
# fail at the end with "identifier is not an image".
WORKDIR /out

FROM ${BASE_IMAGE}
# ca-certificates for TLS to a managed Postgres or NATS (the push services' roots are built
# into the binary); curl for HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 carinfo \
    && useradd --system --uid 10001 --gid carinfo --home-dir /var/lib/carinfo \
       --create-home --shell /usr/sbin/nologin carinfo

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The working directory is the user's, so a sqlite:// DATABASE_URL (relative path) works too,
# given a volume there when the root filesystem is read-only. With Postgres the service
# writes no file, and runs with a read-only root filesystem as it is.
WORKDIR /var/lib/carinfo

# The service's own defaults, spelled out so `docker inspect` documents them; two differ
# on purpose: in a container the service must listen on every interface, and a log
# collector wants JSON lines. deploy/validate.sh fails if any other value drifts from the
# code. Behind the ingress set TRUST_FORWARDED_FOR=true. JWT_SECRET, VAPID_PRIVATE_KEY,
# VAPID_SUBJECT (your contact) and DATABASE_URL have no safe default.
ENV LISTEN_ADDR=0.0.0.0:8003 \
    DATABASE_MAX_CONNECTIONS=20 \
    NATS_SUBJECT_PREFIX= \
    RATE_LIMITS=on \
    TRUST_FORWARDED_FOR=false \
    NOTIFIER_CONSUMER=notifier \
    PUSH_ALLOW_PRIVATE_ENDPOINTS=false \
    PUSH_MAX_SUBSCRIPTIONS_PER_OWNER=10 \
    PUSH_COALESCE_SECS=30 \
    PUSH_TTL_SECS=86400 \
    PUSH_MAX_EVENT_AGE_SECS=600 \
    PUSH_CONCURRENCY=16 \
    PUSH_SEND_TIMEOUT_SECS=10 \
    PUSH_MAX_ATTEMPTS=5 \
    PUSH_RETRY_BASE_MS=2000 \
    PUSH_RETRY_MAX_SECS=600 \
    LOG_FORMAT=json \
    RUST_LOG=info

EXPOSE 8003
# Follows LISTEN_ADDR's port, so overriding it does not leave a failing healthcheck.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${LISTEN_ADDR##*:}/healthz" || exit 1
# SIGTERM starts the graceful drain: requests finish, and push requests in flight are
# answered and recorded.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/notifier"]
# The binary last: a new one reuses every layer above.
COPY --from=binary /out/notifier /usr/local/bin/notifier
