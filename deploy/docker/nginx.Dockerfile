# syntax=docker/dockerfile:1.7
# The ingress: deploy/nginx/carinfo.conf.template rendered for container hostnames, plus the
# static web client from deploy/web, on Debian's nginx. Build context: the repository root.
#   docker build -f deploy/docker/nginx.Dockerfile -t carinfo/ingress .
# The upstream defaults match deploy/compose.yaml; Kubernetes (deploy/k8s/web.yaml) builds it
# with both gateway upstreams pointing at the chat-gateway Service:
#   --build-arg GATEWAY_A_UPSTREAM=chat-gateway:8002 --build-arg GATEWAY_B_UPSTREAM=chat-gateway:8002
# BASE_IMAGE is the Debian both stages start from; CI passes one made with debootstrap,
# because it cannot pull from a registry. It is the base the service images use, and its
# nginx is the one the loopback cluster (deploy/cluster.sh) installs from Debian too.

ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS render
ARG LISTEN_PORT=8080
ARG ACCOUNTS_UPSTREAM=accounts-api:8001
ARG GATEWAY_A_UPSTREAM=gateway-a:8002
ARG GATEWAY_B_UPSTREAM=gateway-b:8002
ARG NOTIFIER_UPSTREAM=notifier:8003
# `off` is the production render: clients cannot pin a gateway replica, and no response names
# one. Only CI's image run (deploy/containers.sh) renders `on`, because its story proves
# cross-replica fan-out by pinning; compose and Kubernetes never set it.
ARG TEST_TOPOLOGY=off
COPY deploy/nginx/ /src/nginx/
RUN bash /src/nginx/render.sh /out/nginx.conf \
        LISTEN_PORT="$LISTEN_PORT" \
        ACCOUNTS_UPSTREAM="$ACCOUNTS_UPSTREAM" \
        GATEWAY_A_UPSTREAM="$GATEWAY_A_UPSTREAM" \
        GATEWAY_B_UPSTREAM="$GATEWAY_B_UPSTREAM" \
        NOTIFIER_UPSTREAM="$NOTIFIER_UPSTREAM" \
        WEB_ROOT=/usr/share/carinfo/web \
        RUNTIME_DIR=/run/carinfo-nginx \
        TEST_TOPOLOGY="$TEST_TOPOLOGY"

FROM ${BASE_IMAGE}
# curl for HEALTHCHECK. uid/gid 101 is what the official nginx image uses, and what
# deploy/k8s/web.yaml runs as. The config writes only under /run/carinfo-nginx (pid file,
# temp files; its logs are links to stdout and stderr), so nginx runs as that user. The
# directory is made here for a writable root filesystem; with a read-only one it is a tmpfs
# or emptyDir, which hides what the image holds, so the command below makes what nginx
# needs in it first.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 101 nginx \
    && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin nginx \
    && mkdir -p /run/carinfo-nginx \
    && chown 101:101 /run/carinfo-nginx
# The pages the ingress serves, and nothing else of deploy/web (its e2e/ holds node_modules).
COPY deploy/web/visitor.html deploy/web/app.html /usr/share/carinfo/web/
COPY deploy/web/static/ /usr/share/carinfo/web/static/
# Numeric, so runAsNonRoot can verify it without reading /etc/passwd.
USER 101:101
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${INGRESS_LISTEN##*:}/healthz" || exit 1
# nginx finishes in-flight requests on QUIT.
STOPSIGNAL SIGQUIT
# -e: Debian's compiled-in error log (/var/log/nginx) is neither writable nor wanted.
CMD ["/bin/sh", "-c", "mkdir -p /run/carinfo-nginx/tmp /run/carinfo-nginx/logs && ln -sf /dev/stdout /run/carinfo-nginx/logs/access.log && ln -sf /dev/stderr /run/carinfo-nginx/logs/error.log && exec nginx -e /run/carinfo-nginx/logs/error.log -g 'daemon off;'"]
# The rendered config and its port last: the build arguments change only these layers.
ARG LISTEN_PORT=8080
ENV INGRESS_LISTEN=${LISTEN_PORT}
EXPOSE ${LISTEN_PORT}
COPY --from=render /out/nginx.conf /etc/nginx/nginx.conf
