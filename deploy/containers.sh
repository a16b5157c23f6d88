#!/usr/bin/env bash
# The production images, built from the release binaries and run as the cluster: what CI
# runs after the release builds.
#   1. podman, runc and debootstrap from Debian packages when missing;
#   2. the base image localhost/carinfo-base:bookworm, made once with debootstrap from the
#      Debian mirror this machine's apt uses (no registry is reachable), reused after that;
#   3. the accounts-api, chat-gateway and notifier images from deploy/docker/ with
#      BINARY_FROM=prebuilt (the same runtime stage production builds, given the binaries in
#      $BIN_DIR), and the ingress image from deploy/docker/nginx.Dockerfile, all on that base;
#   4. accounts-api, gateway-a, gateway-b, the notifier and the ingress as containers against the loopback
#      Postgres and NATS, on free ports with databases and a NATS subject prefix of their
#      own, each with a read-only root filesystem and its image's numeric non-root user,
#      until every image's HEALTHCHECK passes;
#   5. the cluster API story (deploy/cluster-e2e.mjs) through the containerised ingress,
#      visitor on gateway-a and owner on gateway-b, stickers issued by the accounts-api image;
#   6. the containers stopped, and no log they wrote (JSON from the services, nginx's access
#      and error logs) holding a secret the story used (deploy/check-logs-for-secrets.py).
# Containers, databases and NATS streams are removed however it ends; the base image stays
# for the next run, and so do the last images built (localhost/carinfo/*:ci), to look into.
#
#   BIN_DIR (${CARGO_TARGET_DIR:-target}/release)   where accounts-api, chat-gateway and notifier are
#   DEBIAN_MIRROR   the mirror for debootstrap (default: the one apt's sources name)
#   IMAGE_TAG (ci)  the tag of the images built here (localhost/carinfo/<name>:<tag>)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$(realpath -m "${BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/release}")"
IMAGE_TAG="${IMAGE_TAG:-ci}"
READY_TIMEOUT_SECS="${READY_TIMEOUT_SECS:-120}"
# The production images' Debian release (debian:bookworm-slim).
BASE_SUITE=bookworm
BASE_IMAGE="localhost/carinfo-base:$BASE_SUITE"
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '\n[containers] %s\n' "$*" >&2; }
die() { printf '[containers] error: %s\n' "$*" >&2; exit 1; }

# What works where CI runs, inside a container itself: no systemd (cgroupfs), no overlay
# mounts (vfs), no crun (runc). Host networking reaches the loopback Postgres and NATS. The
# ulimits are explicit because podman's defaults exceed the hard limits CI runs under.
# Without systemd podman cannot schedule an image's healthchecks and says so, as an error,
# whenever such a container starts or goes; this script runs the healthchecks itself, so
# that line is filtered out, in the pipeline, so the rest of stderr is written before
# podman returns.
podman() {
    { command podman --runtime runc --storage-driver vfs --cgroup-manager cgroupfs "$@" 2>&1 1>&3 3>&- \
        | { grep -v 'unable to get systemd connection' >&2 || true; }; } 3>&1
}
nofile="$(ulimit -Hn)"
[[ "$nofile" =~ ^[0-9]+$ ]] && ((nofile <= 65536)) || nofile=65536
LIMITS=(--network host --ulimit "nofile=$nofile:$nofile" --ulimit nproc=1000:1000)

apt_install() {
    [[ $EUID -eq 0 ]] || die "$* is missing and installing it needs root (apt-get install $*)"
    log "installing $* from Debian packages"
    # Another apt may hold the lock: wait. The package lists may be absent: update and retry.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" \
        || { apt-get -o DPkg::Lock::Timeout=600 update \
             && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@"; }
}

ensure_tools() {
    local missing=() pair
    [[ $EUID -eq 0 ]] || die "podman runs here as root only (vfs storage, host network, runc)"
    for pair in podman:podman runc:runc debootstrap:debootstrap psql:postgresql-client curl:curl; do
        # `type -P`, not `command -v`: `podman` is also the wrapper function above.
        type -P "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
    done
    ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
    command -v node >/dev/null || die "node is missing (the cluster story runs on it)"
}

# The first apt source that serves the base's suite from an http(s) mirror, in one-line
# (sources.list) or deb822 (*.sources) form, the order apt reads them.
debian_mirror() {
    if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
        printf '%s\n' "$DEBIAN_MIRROR"
        return
    fi
    python3 - "$BASE_SUITE" <<'EOF'
import glob, os, re, sys
suite = sys.argv[1]

def one_line(path):
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        m = re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
        if m:
            yield m.group(1), [m.group(2)], m.group(3).split()

def deb822(path):
    for paragraph in re.split(r"\n\s*\n", open(path).read()):
        fields, key = {}, None
        for line in paragraph.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split(), fields.get("components", "").split()

sources = [("/etc/apt/sources.list", one_line)]
sources += [(p, one_line) for p in sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]
sources += [(p, deb822) for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))]
for path, parse in sources:
    if os.path.isfile(path):
        for uri, suites, components in parse(path):
            if suite in suites and "main" in components and uri.startswith(("http://", "https://")):
                print(uri.rstrip("/"))
                sys.exit(0)
sys.exit(f"no apt source serves {suite} main over http(s); set DEBIAN_MIRROR")
EOF
}

# What makes debian:bookworm-slim slim, so the images built on this base match production:
# no documentation, manual pages or translations (now or from later installs), and apt keeps
# neither downloaded packages nor its caches. Fewer files also make each vfs layer cheaper.
slim() { # rootfs
    local rootfs="$1" dir
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/slim-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    for dir in groff info linda lintian/overrides locale man; do
        rm -rf "${rootfs:?}/usr/share/$dir"/*
    done
    # The package lists are stale the moment the image exists; every image build updates them.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
}

ensure_base_image() {
    # Two runs at once make the base once.
    exec 8>/tmp/carinfo-base-image.lock
    flock 8
    if podman image exists "$BASE_IMAGE"; then
        log "base image $BASE_IMAGE is there"
        exec 8>&-
        return
    fi
    local mirror rootfs="$scratch/rootfs"
    mirror="$(debian_mirror)"
    log "making $BASE_IMAGE: debootstrap --variant=minbase $BASE_SUITE from $mirror"
    if ! debootstrap --variant=minbase "$BASE_SUITE" "$rootfs" "$mirror" >"$scratch/debootstrap.log" 2>&1; then
        tail -n 30 "$scratch/debootstrap.log" >&2
        die "debootstrap failed (set DEBIAN_MIRROR to another mirror?)"
    fi
    slim "$rootfs"
    tar --numeric-owner -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    exec 8>&-
}

build_image() { # name dockerfile context build-arg...
    local name="$1" dockerfile="$2" context="$3" out="$scratch/build-$1.log"
    shift 3
    log "building localhost/carinfo/$name:$IMAGE_TAG ($dockerfile)"
    # Docker format: the OCI image format has no HEALTHCHECK, and podman would drop it.
    # No layer cache: with vfs every step, cached or not, costs a full copy of the root
    # filesystem, made and later deleted, which took longer than running apt-get again
    # (measured: 70 s against 20 s for the ingress).
    if ! podman build --layers=false --format docker "${LIMITS[@]}" -f "$repo/deploy/docker/$dockerfile" \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" "$@" -t "localhost/carinfo/$name:$IMAGE_TAG" "$context" >"$out" 2>&1; then
        tail -n 40 "$out" >&2
        die "building the $name image failed"
    fi
}

# One after another: run at once, the builds mostly wait on each other's storage locks.
build_images() {
    local binaries="$scratch/binaries" bin
    mkdir -p "$binaries"
    for bin in accounts-api chat-gateway notifier; do
        cp "$BIN_DIR/$bin" "$binaries/"
    done
    build_image accounts-api accounts-api.Dockerfile "$binaries" --build-arg BINARY_FROM=prebuilt
    build_image chat-gateway chat-gateway.Dockerfile "$binaries" --build-arg BINARY_FROM=prebuilt
    build_image notifier notifier.Dockerfile "$binaries" --build-arg BINARY_FROM=prebuilt
    # The story pins its sockets to one replica each and reads which one answered, so this
    # ingress renders the test topology; the rest of the image is the production one.
    build_image ingress nginx.Dockerfile "$repo" \
        --ignorefile "$repo/deploy/docker/nginx.Dockerfile.dockerignore" \
        --build-arg "LISTEN_PORT=127.0.0.1:$INGRESS_PORT" \
        --build-arg "ACCOUNTS_UPSTREAM=127.0.0.1:$ACCOUNTS_PORT" \
        --build-arg "GATEWAY_A_UPSTREAM=127.0.0.1:$GATEWAY_A_PORT" \
        --build-arg "GATEWAY_B_UPSTREAM=127.0.0.1:$GATEWAY_B_PORT" \
        --build-arg "NOTIFIER_UPSTREAM=127.0.0.1:$NOTIFIER_PORT" \
        --build-arg TEST_TOPOLOGY=on
}

free_ports() { python3 "$repo/deploy/free-ports.py" "$1"; }

psql_admin() { psql -v ON_ERROR_STOP=1 -X -q -U postgres -h 127.0.0.1 -d postgres "$@"; }

container() { printf 'carinfo-%s-%s\n' "$run_id" "$1"; }

RUN_FLAGS=(--detach --read-only)

start_service() { # name image port database [podman run flags...]
    local name="$1" image="$2" port="$3" database="$4"
    shift 4
    log "starting $name ($image) on 127.0.0.1:$port"
    # JWT_SECRET is passed by name, so its value is in no command line.
    JWT_SECRET="$secret" podman run "${RUN_FLAGS[@]}" "${LIMITS[@]}" --name "$(container "$name")" "$@" \
        -e LISTEN_ADDR="127.0.0.1:$port" \
        -e DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" \
        -e NATS_URL=nats://127.0.0.1:4222 \
        -e NATS_SUBJECT_PREFIX="$NATS_SUBJECT_PREFIX" \
        -e JWT_SECRET \
        -e TRUST_FORWARDED_FOR=true \
        -e REPLICA_ID="$name" \
        -e RUST_LOG="${CONTAINERS_RUST_LOG:-debug}" \
        "localhost/carinfo/$image:$IMAGE_TAG" >/dev/null
    started+=("$name")
}

start_ingress() {
    log "starting the ingress on 127.0.0.1:$INGRESS_PORT"
    # The one path nginx writes to, owned by the image's user (U).
    podman run "${RUN_FLAGS[@]}" "${LIMITS[@]}" --name "$(container ingress)" \
        --tmpfs /run/carinfo-nginx:rw,nosuid,nodev,noexec,U \
        "localhost/carinfo/ingress:$IMAGE_TAG" >/dev/null
    started+=(ingress)
}

wait_healthy() { # name
    local name="$1" ctr start=$SECONDS state
    ctr="$(container "$name")"
    until podman healthcheck run "$ctr" >/dev/null 2>&1; do
        state="$(podman inspect --format '{{.State.Status}}' "$ctr")"
        if [[ "$state" != running ]] || ((SECONDS - start >= READY_TIMEOUT_SECS)); then
            podman logs --tail 30 "$ctr" >&2 || true
            die "$name is $state and its healthcheck does not pass after $((SECONDS - start))s"
        fi
        sleep 0.5
    done
    log "$name is healthy"
}

# The image's user is numeric and not root, the process runs as that user, and the root
# filesystem is read-only (for a service, even its own home directory refuses a write).
check_hardening() { # name
    local name="$1" ctr user uid
    ctr="$(container "$name")"
    user="$(podman inspect --format '{{.Config.User}}' "$ctr")"
    [[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || die "$name runs as '$user', not a numeric non-root user"
    uid="$(podman exec "$ctr" id -u)"
    [[ "$uid" == "${user%%:*}" ]] || die "$name runs as uid $uid, not as its image's user $user"
    [[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ctr")" == true ]] \
        || die "$name's root filesystem is writable"
    if [[ "$name" != ingress ]] && podman exec "$ctr" touch /var/lib/carinfo/.write-probe 2>/dev/null; then
        die "$name could write to its root filesystem"
    fi
    log "$name runs as uid $uid on a read-only root filesystem"
}

stop_containers() {
    local name
    # Services first: the gateways' 1001 close frames still reach clients through nginx.
    for name in notifier gateway-b gateway-a accounts-api ingress; do
        podman stop --time 20 "$(container "$name")" >/dev/null 2>&1 || true
    done
}

run_id="img_$(date +%s)_$$"
ACCOUNTS_DB="${run_id}_accounts"
CHAT_DB="${run_id}_chat"
NOTIFIER_DB="${run_id}_notifier"
NATS_SUBJECT_PREFIX="$run_id."
scratch="$(mktemp -d "${TMPDIR:-/tmp}/carinfo-containers.XXXXXX")"
started=()
databases=0

cleanup() {
    local rc=$? name
    set +e
    if ((${#started[@]} > 0)); then
        stop_containers
        if ((rc != 0)); then
            for name in "${started[@]}"; do
                printf '\n[containers] last lines of %s:\n' "$name" >&2
                podman logs --tail 20 "$(container "$name")" >&2
            done
        fi
        for name in "${started[@]}"; do
            podman rm --force "$(container "$name")" >/dev/null
        done
    fi
    if ((databases)); then
        local db streams
        for db in "$ACCOUNTS_DB" "$CHAT_DB" "$NOTIFIER_DB"; do
            psql_admin -c "drop database if exists $db with (force)" || echo "[containers] could not drop database $db" >&2
        done
        streams="$(tr '[:lower:]' '[:upper:]' <<<"$NATS_SUBJECT_PREFIX" | tr -c 'A-Z0-9\n' '_')"
        "$repo/deploy/delete-nats-streams.py" "${streams}ACCOUNTS" "${streams}CHAT" \
            || echo "[containers] could not delete the run's NATS streams" >&2
    fi
    # Each build leaves the previous images untagged; vfs keeps a full copy of each.
    podman image prune --force >/dev/null 2>&1
    rm -rf "$scratch"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for bin in accounts-api chat-gateway notifier; do
    [[ -x "$BIN_DIR/$bin" ]] || die "$BIN_DIR/$bin is missing (cargo build --release -p $bin)"
done
ensure_tools
"$repo/deploy/ensure-backends.sh" >&2
read -r INGRESS_PORT ACCOUNTS_PORT GATEWAY_A_PORT GATEWAY_B_PORT NOTIFIER_PORT < <(free_ports 5)

ensure_base_image
build_images

databases=1
psql_admin -c "create database $ACCOUNTS_DB" -c "create database $CHAT_DB" -c "create database $NOTIFIER_DB"
secret="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
(umask 077 && printf '%s' "$secret" >"$scratch/jwt_secret")

# No start order: every service creates the JetStream streams it needs, and each migrates
# its own database.
start_service accounts-api accounts-api "$ACCOUNTS_PORT" "$ACCOUNTS_DB"
start_service gateway-a chat-gateway "$GATEWAY_A_PORT" "$CHAT_DB"
start_service gateway-b chat-gateway "$GATEWAY_B_PORT" "$CHAT_DB"
# Its VAPID key, like JWT_SECRET, by name only.
VAPID_PRIVATE_KEY="$("$BIN_DIR/notifier" generate-vapid-key)" \
    start_service notifier notifier "$NOTIFIER_PORT" "$NOTIFIER_DB" -e VAPID_PRIVATE_KEY
start_ingress
for name in accounts-api gateway-a gateway-b notifier ingress; do
    wait_healthy "$name"
    check_hardening "$name"
done

if [[ ! -d "$repo/deploy/web/e2e/node_modules/ws" ]]; then
    (cd "$repo/deploy/web/e2e" && npm ci --no-audit --no-fund)
fi
# The accounts-api image's own CLI issues the stickers, a one-off container on the same
# database; no healthcheck for a command that exits. The story runs it in a shell of its
# own, which knows no wrapper function, hence podman's flags spelled out.
issue_cmd="$(printf '%q ' command podman --runtime runc --storage-driver vfs --cgroup-manager cgroupfs \
    run --rm --read-only --no-healthcheck "${LIMITS[@]}" \
    -e "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$ACCOUNTS_DB" -e RUST_LOG=warn \
    "localhost/carinfo/accounts-api:$IMAGE_TAG" stickers issue --count 1)"
log "API story through the containerised ingress, visitor on gateway-a, owner on gateway-b"
CARINFO_URL="http://127.0.0.1:$INGRESS_PORT" ISSUE_STICKER_CMD="$issue_cmd" \
    GATEWAY_A_UPSTREAM="127.0.0.1:$GATEWAY_A_PORT" GATEWAY_B_UPSTREAM="127.0.0.1:$GATEWAY_B_PORT" \
    SECRETS_OUT="$scratch/secrets.json" \
    node "$repo/deploy/cluster-e2e.mjs" || die "the cluster story failed through the containers"

log "log scan: the containers' logs hold none of the story's secrets"
# Stopped first, so the shutdown lines are in the logs too.
stop_containers
mkdir -p "$scratch/logs"
for name in accounts-api gateway-a gateway-b notifier ingress; do
    podman logs "$(container "$name")" >"$scratch/logs/$name.log" 2>&1
done
python3 "$repo/deploy/check-logs-for-secrets.py" "$scratch/secrets.json" "$scratch/logs" \
    --secret-file "JWT signing key=$scratch/jwt_secret" \
    --expect "ingress.log=/api/login/" \
    --expect "accounts-api.log=accounts-api listening" --expect "accounts-api.log=DEBUG" \
    --expect "gateway-a.log=chat-gateway listening" --expect "gateway-b.log=chat-gateway listening" \
    --expect "notifier.log=notifier listening" \
    || die "a secret reached the containers' logs"

log "the images run the cluster story: non-root, read-only, healthy, no secret in their logs"
