# syntax=docker/dockerfile:1.7
# The ingress: deploy/nginx/carinfo.conf.template rendered for container hostnames, plus the
# static web client from deploy/web. Build context: the repository root.
#   docker build -f deploy/docker/nginx.Dockerfile -t carinfo/ingress .
# The upstream defaults match deploy/compose.yaml; Kubernetes (deploy/k8s/web.yaml) builds it
# with both gateway upstreams pointing at the chat-gateway Service:
#   --build-arg GATEWAY_A_UPSTREAM=chat-gateway:8002 --build-arg GATEWAY_B_UPSTREAM=chat-gateway:8002

FROM nginx:1.27 AS render
ARG LISTEN_PORT=8080
ARG ACCOUNTS_UPSTREAM=accounts-api:8001
ARG GATEWAY_A_UPSTREAM=gateway-a:8002
ARG GATEWAY_B_UPSTREAM=gateway-b:8002
COPY deploy/nginx/ /src/nginx/
# The production render (no TEST_TOPOLOGY): clients cannot pin a gateway replica, and no
# response names one.
RUN bash /src/nginx/render.sh /out/nginx.conf \
        LISTEN_PORT="$LISTEN_PORT" \
        ACCOUNTS_UPSTREAM="$ACCOUNTS_UPSTREAM" \
        GATEWAY_A_UPSTREAM="$GATEWAY_A_UPSTREAM" \
        GATEWAY_B_UPSTREAM="$GATEWAY_B_UPSTREAM" \
        WEB_ROOT=/usr/share/carinfo/web \
        RUNTIME_DIR=/run/carinfo-nginx

FROM nginx:1.27
ARG LISTEN_PORT=8080
ENV INGRESS_LISTEN=${LISTEN_PORT}
COPY --from=render /out/nginx.conf /etc/nginx/nginx.conf
COPY deploy/web/ /usr/share/carinfo/web/
# The config writes only under /run/carinfo-nginx, so the image runs as the unprivileged
# nginx user; its logs go to the container's stdout/stderr. default.conf is removed so the
# entrypoint's IPv6 helper has nothing to rewrite.
RUN rm -rf /etc/nginx/conf.d/default.conf /usr/share/carinfo/web/e2e \
    && mkdir -p /run/carinfo-nginx/logs /run/carinfo-nginx/tmp \
    && ln -sf /dev/stdout /run/carinfo-nginx/logs/access.log \
    && ln -sf /dev/stderr /run/carinfo-nginx/logs/error.log \
    && chown -R nginx:nginx /run/carinfo-nginx
# Numeric (the nginx user in the official image), so runAsNonRoot can verify it.
USER 101:101
EXPOSE ${LISTEN_PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${INGRESS_LISTEN##*:}/healthz" || exit 1
# nginx finishes in-flight requests on QUIT (the base image sets it too; stated for clarity).
STOPSIGNAL SIGQUIT
CMD ["nginx", "-e", "/run/carinfo-nginx/logs/error.log", "-g", "daemon off;"]
