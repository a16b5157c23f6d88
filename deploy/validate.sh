#!/usr/bin/env bash
# Checks everything in deploy/ that can be checked without a cluster, a Docker daemon or a
# cargo build: YAML syntax, Kubernetes schemas (strict), the kustomization, the compose
# file against the compose-spec schema, the nginx config (nginx -t plus a smoke test
# against stub upstreams), the shell scripts, that the route table is the same in
# nginx and in the Ingress, and the Prometheus rules (with their unit tests), the
# Prometheus config and the Grafana dashboard. Exits non-zero if anything fails.
#
# Python tools live in a venv under target/validate-venv (pinned, reinstalled only when the
# pins change); nginx, shellcheck and promtool (package prometheus) come from Debian
# packages when missing.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deploy="$repo/deploy"
venv="${VALIDATE_VENV:-$repo/target/validate-venv}"
export PATH="$PATH:/usr/sbin:/sbin"

# Pinned so a new release of a schema bundle cannot turn a green run red on its own.
PY_REQUIREMENTS=(PyYAML==6.0.3 kubernetes-validate==1.37.0 check-jsonschema==0.39.0)

passed=0
failed=0
failed_names=()
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

# check NAME COMMAND...: runs COMMAND, shows its output only when it fails.
check() {
    local name="$1" out="$log_dir/out"
    shift
    if "$@" >"$out" 2>&1; then
        passed=$((passed + 1))
        printf 'ok    %s\n' "$name"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$out"
    fi
}

apt_install() {
    [[ $EUID -eq 0 ]] || { echo "$* missing; installing it needs root" >&2; return 1; }
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" \
        || { apt-get -o DPkg::Lock::Timeout=600 update \
             && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@"; }
}

setup_venv() {
    local stamp="$venv/.requirements"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv" || return 1
    fi
    if [[ "$(cat "$stamp" 2>/dev/null)" != "${PY_REQUIREMENTS[*]}" ]]; then
        "$venv/bin/pip" install --disable-pip-version-check -q "${PY_REQUIREMENTS[@]}" || return 1
        printf '%s' "${PY_REQUIREMENTS[*]}" >"$stamp"
    fi
}

setup_debian_tools() {
    command -v nginx >/dev/null || apt_install nginx || return 1
    command -v shellcheck >/dev/null || apt_install shellcheck || return 1
}

# promtool ships only in Debian's prometheus package; installing it does not start the server
# where there is no init system, and nothing here needs the server.
setup_promtool() {
    command -v promtool >/dev/null || apt_install prometheus || return 1
    promtool --version
}

# Files this directory owns; deploy/web/ (including its own node_modules) is checked by
# its own tests.
yaml_files() {
    find "$deploy" -path "$deploy/web" -prune -o \( -name '*.yaml' -o -name '*.yml' \) -type f -print | sort
}

k8s_manifests() {
    find "$deploy/k8s" -name '*.yaml' ! -name kustomization.yaml -type f | sort
}

check_yaml_parses() {
    local files
    mapfile -t files < <(yaml_files)
    ((${#files[@]} > 0)) || { echo "no YAML files found"; return 1; }
    "$venv/bin/python" - "${files[@]}" <<'EOF'
import sys, yaml
bad = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        if not docs:
            raise ValueError("no documents")
        print(f"{path}: {len(docs)} document(s)")
    except Exception as e:
        bad += 1
        print(f"{path}: {e}")
sys.exit(1 if bad else 0)
EOF
}

check_k8s_schemas() {
    local files
    mapfile -t files < <(k8s_manifests)
    "$venv/bin/kubernetes-validate" --strict --quiet "${files[@]}"
}

# Every manifest is listed in its directory's kustomization.yaml (deploy/k8s, and
# deploy/k8s/ingress-nginx for the controller's own settings) and every listed file exists,
# so `kubectl apply -k` deploys exactly what was validated.
check_kustomization_lists_manifests() {
    "$venv/bin/python" - "$deploy/k8s" <<'EOF'
import os, sys, yaml
bad = False
for root, _, files in os.walk(sys.argv[1]):
    present = {f for f in files if f.endswith(".yaml") and f != "kustomization.yaml"}
    if "kustomization.yaml" not in files:
        for f in sorted(present):
            print(f"{root}: {f} is in no kustomization")
            bad = True
        continue
    k = yaml.safe_load(open(os.path.join(root, "kustomization.yaml")))
    listed = set(k.get("resources", []))
    for f in sorted(listed - present):
        print(f"{root}: listed but missing: {f}")
        bad = True
    for f in sorted(present - listed):
        print(f"{root}: not listed in kustomization.yaml: {f}")
        bad = True
sys.exit(1 if bad else 0)
EOF
}

check_kustomize_build() {
    local dir out="$log_dir/kustomized.yaml"
    for dir in "$deploy/k8s" "$deploy/k8s/ingress-nginx"; do
        kubectl kustomize "$dir" >"$out" && "$venv/bin/kubernetes-validate" --strict --quiet "$out" || return 1
    done
}

check_compose_schema() {
    "$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$deploy/compose.yaml"
}

# The schema cannot see the filesystem: every Dockerfile, env file and mounted file that
# compose.yaml names must exist.
check_compose_references() {
    "$venv/bin/python" - "$deploy/compose.yaml" <<'EOF'
import os, sys, yaml
path = sys.argv[1]
base = os.path.dirname(path)
doc = yaml.safe_load(open(path))
missing = []
for name, svc in doc.get("services", {}).items():
    build = svc.get("build")
    if isinstance(build, dict):
        ctx = os.path.normpath(os.path.join(base, build.get("context", ".")))
        dockerfile = os.path.join(ctx, build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            missing.append(f"{name}: {dockerfile}")
    env_files = svc.get("env_file", [])
    for entry in [env_files] if isinstance(env_files, (str, dict)) else env_files:
        entry = {"path": entry} if isinstance(entry, str) else entry
        if entry.get("required", True) and not os.path.isfile(os.path.join(base, entry["path"])):
            missing.append(f"{name}: env_file {entry['path']}")
    for volume in svc.get("volumes", []):
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith((".", "/")) and not os.path.exists(os.path.join(base, source)):
            missing.append(f"{name}: volume source {source}")
for m in missing:
    print("missing:", m)
sys.exit(1 if missing else 0)
EOF
}

check_nginx_syntax() {
    local rt="$log_dir/nginx"
    mkdir -p "$rt/logs" "$rt/tmp" "$rt/web"
    "$deploy/nginx/render.sh" "$rt/nginx.conf" \
        LISTEN_PORT=127.0.0.1:8080 \
        ACCOUNTS_UPSTREAM=127.0.0.1:18001 \
        GATEWAY_A_UPSTREAM=127.0.0.1:18002 \
        GATEWAY_B_UPSTREAM=127.0.0.1:18003 \
        NOTIFIER_UPSTREAM=127.0.0.1:18004 \
        WEB_ROOT="$deploy/web" \
        RUNTIME_DIR="$rt" \
        && nginx -t -p "$rt" -c "$rt/nginx.conf" -e "$rt/logs/error.log"
}

# No access log may record a query string: `?token=` carries owner JWTs and `?visitor=`
# visitor tokens. Both log formats, the nginx template's and the Kubernetes ingress-nginx
# controller's (whose default holds $request), record $uri instead, and both keep
# request-level error messages (which quote the request line) out of the error log.
check_log_formats() {
    "$venv/bin/python" - "$deploy/nginx/carinfo.conf.template" "$deploy/k8s/ingress-nginx/controller-config.yaml" <<'EOF'
import re, sys, yaml
FORBIDDEN = re.compile(r"\$(request|request_uri|args|query_string|http_referer|arg_\w+)\b")
errors = []
def check(where, fmt):
    if not fmt:
        errors.append(f"{where}: no log format")
        return
    if "$uri" not in fmt:
        errors.append(f"{where}: does not record $uri")
    for m in FORBIDDEN.finditer(fmt):
        errors.append(f"{where}: records {m.group(0)}, which can hold the query string")
template = open(sys.argv[1]).read()
m = re.search(r"^\s*log_format\s+\S+\s+((?:'[^']*'\s*)+);", template, re.M)
check("nginx template log_format", m and "".join(re.findall(r"'([^']*)'", m.group(1))))
http = template[template.index("\nhttp {"):]
if not re.search(r"^\s*error_log\s+\S+\s+crit;", http, re.M):
    errors.append("nginx template: no `error_log ... crit` in http{}")
controller = yaml.safe_load(open(sys.argv[2]))
data = controller.get("data") or {}
check("ingress-nginx log-format-upstream", data.get("log-format-upstream"))
if data.get("error-log-level") != "crit":
    errors.append(f"ingress-nginx error-log-level is {data.get('error-log-level')!r}, expected crit")
if controller.get("kind") != "ConfigMap" or controller["metadata"].get("namespace") != "ingress-nginx":
    errors.append("ingress-nginx: expected a ConfigMap in namespace ingress-nginx")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

# Replica pinning (X-CarInfo-Replica, ?replica=) and X-CarInfo-Upstream exist only in the
# test topology the loopback cluster renders. The production render, the one the nginx image
# builds for compose and Kubernetes, has neither; the test render has them, so the switch
# works. The image renders the test topology only when its build is told to (CI's image run
# does); by default, and in compose, it renders production.
check_production_nginx() {
    local rt="$log_dir/render" args
    mkdir -p "$rt"
    if ! grep -qxE 'ARG TEST_TOPOLOGY=off' "$deploy/docker/nginx.Dockerfile"; then
        echo "the nginx image does not render the production topology by default (ARG TEST_TOPOLOGY=off)"
        return 1
    fi
    if grep -nE '^[^#]*TEST_TOPOLOGY' "$deploy/compose.yaml"; then
        echo "compose selects the test topology"
        return 1
    fi
    args=(LISTEN_PORT=8080 ACCOUNTS_UPSTREAM=accounts-api:8001 GATEWAY_A_UPSTREAM=gateway-a:8002
          GATEWAY_B_UPSTREAM=gateway-b:8002 NOTIFIER_UPSTREAM=notifier:8003
          WEB_ROOT=/usr/share/carinfo/web RUNTIME_DIR=/run/carinfo-nginx)
    "$deploy/nginx/render.sh" "$rt/production.conf" "${args[@]}" || return 1
    "$deploy/nginx/render.sh" "$rt/test.conf" "${args[@]}" TEST_TOPOLOGY=on || return 1
    "$venv/bin/python" - "$rt/production.conf" "$rt/test.conf" <<'EOF'
import re, sys
def directives(path):
    lines = open(path).read().lower().splitlines()
    return "\n".join(l for l in lines if not l.lstrip().startswith("#"))
NEEDLES = [r"x-carinfo-replica", r"\$http_x_carinfo_replica", r"\$arg_replica\b",
           r"x-carinfo-upstream", r"\bgateway_[ab]\b"]
production, test = directives(sys.argv[1]), directives(sys.argv[2])
errors = [f"the production render holds {n}" for n in NEEDLES if re.search(n, production)]
errors += [f"the test render lacks {n}" for n in NEEDLES[1:] if not re.search(n, test)]
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

# NATS runs with users and per-service permissions (deploy/nats/nats.conf): compose mounts
# that file and Kubernetes carries an identical copy; both give NATS every password it
# references; each service connects as its own user with its own password; no user may
# connect anonymously or publish without permissions.
check_nats_auth() {
    "$venv/bin/python" - "$deploy" <<'EOF'
import os, re, sys, yaml
deploy = sys.argv[1]
conf = open(os.path.join(deploy, "nats/nats.conf")).read()
code = "\n".join("" if l.lstrip().startswith("#") else l for l in conf.splitlines())
users = dict(re.findall(r'user:\s*"([^"]+)",\s*password:\s*\$([A-Z0-9_]+)', code))
permissions = dict(re.findall(r'user:\s*"([^"]+)",[^}\n]*permissions:\s*\$([A-Z_]+)', code))
SERVICES = {"accounts-api": "accounts-api", "gateway-a": "chat-gateway", "gateway-b": "chat-gateway",
            "notifier": "notifier"}
errors = []
if "no_auth_user" in code:
    errors.append("nats.conf: no_auth_user lets clients in without credentials")
for user in ("accounts-api", "chat-gateway", "notifier"):
    if user not in users:
        errors.append(f"nats.conf: no user {user}")
    elif user not in permissions:
        errors.append(f"nats.conf: user {user} has no permissions, so it may publish anything")
password_vars = set(users.values())

k8s = list(yaml.safe_load_all(open(os.path.join(deploy, "k8s/nats.yaml"))))
config_maps = [d for d in k8s if d["kind"] == "ConfigMap"]
if not config_maps or config_maps[0]["data"].get("nats.conf") != conf:
    errors.append("k8s/nats.yaml: the nats-config ConfigMap is not a copy of deploy/nats/nats.conf")
sts = next(d for d in k8s if d["kind"] == "StatefulSet")
container = sts["spec"]["template"]["spec"]["containers"][0]
if "-c" not in container.get("args", []):
    errors.append("k8s/nats.yaml: nats-server does not run with -c (its config)")
k8s_env = {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
for var in sorted(password_vars - k8s_env):
    errors.append(f"k8s/nats.yaml: NATS does not get {var} from a Secret")
secret = yaml.safe_load(open(os.path.join(deploy, "k8s/secrets.yaml")))
for var in sorted(password_vars - set(secret["stringData"])):
    errors.append(f"k8s/secrets.yaml: no {var}")
# nats-server parses the password variables as config values; only these stay strings as given.
SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
for var in sorted(password_vars & set(secret["stringData"])):
    if not SAFE.fullmatch(secret["stringData"][var]):
        errors.append(f"k8s/secrets.yaml: {var} must be letters, digits, - and _, from a letter")
for name in ("accounts-api", "chat-gateway", "notifier"):
    docs = yaml.safe_load_all(open(os.path.join(deploy, f"k8s/{name}.yaml")))
    doc = next(d for d in docs if d["kind"] == "Deployment")
    env = {e["name"]: e for e in doc["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    user = env.get("NATS_USER", {}).get("value")
    key = env.get("NATS_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("key")
    if user != name or key != users.get(name):
        errors.append(f"k8s/{name}.yaml: NATS_USER={user}, NATS_PASSWORD from {key}; "
                      f"expected {name} and {users.get(name)}")

compose = yaml.safe_load(open(os.path.join(deploy, "compose.yaml")))
nats = compose["services"]["nats"]
if "-c" not in nats.get("command", []) or not any(
        str(v).startswith("./nats/nats.conf:") for v in nats.get("volumes", [])):
    errors.append("compose.yaml: nats does not run with ./nats/nats.conf")
nats_env = nats.get("environment") or {}
for var in sorted(password_vars):
    m = re.fullmatch(r"\$\{" + var + r":-(.*)\}", str(nats_env.get(var, "")))
    if not m:
        errors.append(f"compose.yaml: nats does not get {var}")
    elif not SAFE.fullmatch(m.group(1)):
        errors.append(f"compose.yaml: the default of {var} must be letters, digits, - and _")
for service, user in SERVICES.items():
    env = compose["services"][service].get("environment") or {}
    expected = users.get(user)
    if env.get("NATS_USER") != user or f"${{{expected}:-" not in str(env.get("NATS_PASSWORD", "")):
        errors.append(f"compose.yaml: {service} must connect as {user} with ${expected}")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

# The alert rules load and their unit tests pass (every alert fires where it must and stays
# quiet where it must not, annotations rendered).
check_alert_rules() {
    promtool check rules "$deploy/observability/alerts.yaml" \
        && promtool test rules "$deploy/observability/alerts.test.yaml"
}

check_prometheus_config() {
    promtool check config "$deploy/observability/prometheus.yaml"
}

# The dashboard imports: valid JSON, every panel and target on the datasource variable, the
# variables it uses defined, unique panel ids; and every query is valid PromQL, checked by
# handing them to promtool as recording rules (with Grafana's variables filled in).
check_dashboard() {
    local rules="$log_dir/dashboard-rules.json"
    python3 - "$deploy/observability/carinfo-dashboard.json" "$rules" <<'EOF' && promtool check rules "$rules"
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
errors = []
variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
if variables.get("datasource", {}).get("type") != "datasource":
    errors.append("no datasource variable named `datasource`")
DS = {"type": "prometheus", "uid": "${datasource}"}
GRAFANA = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))
ids, exprs = set(), []
for p in panels(dashboard.get("panels", [])):
    if p.get("id") in ids:
        errors.append(f"panel id {p.get('id')} used twice")
    ids.add(p.get("id"))
    if p.get("type") == "row":
        continue
    title = p.get("title", "?")
    if p.get("datasource") != DS:
        errors.append(f"{title}: datasource is not ${{datasource}}")
    if not p.get("targets"):
        errors.append(f"{title}: no query")
    for t in p.get("targets", []):
        if t.get("datasource", DS) != DS:
            errors.append(f"{title}: a target's datasource is not ${{datasource}}")
        expr = t.get("expr", "")
        for name, value in GRAFANA.items():
            expr = expr.replace(name, value)
        for var in re.findall(r"\$(\w+)", expr):
            if var not in variables:
                errors.append(f"{title}: ${var} is not a dashboard variable")
        exprs.append(re.sub(r"\$\w+", ".*", expr))
if not exprs:
    errors.append("no queries")
rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
json.dump(rules, open(sys.argv[2], "w"))
print(f"{len(exprs)} queries in {len(ids)} panels")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

check_nginx_smoke() {
    "$venv/bin/python" "$deploy/nginx/smoke_test.py"
}

# The pages the ingress routes to; a missing one would turn /u/<uuid> into a 404.
check_web_root() {
    local f missing=0
    for f in visitor.html app.html static; do
        [[ -e "$deploy/web/$f" ]] || { echo "deploy/web/$f is missing"; missing=1; }
    done
    return "$missing"
}

# nginx (compose, cluster.sh) and the Ingress (Kubernetes) must route the same paths.
check_route_table() {
    "$venv/bin/python" - "$deploy/nginx/carinfo.conf.template" "$deploy/k8s/ingress.yaml" <<'EOF'
import re, sys, yaml
template = open(sys.argv[1]).read()
ingress = list(yaml.safe_load_all(open(sys.argv[2])))
routes = {
    "accounts-api": ["/api/user/", "/api/login/", "/api/token/", "/api/profile/", "/api/users/",
                     "/user/", "/api/stickers/", "/api/schema/", "/api/docs/", "/api/redoc/",
                     "/api/asyncapi/"],
    "chat-gateway": ["/api/chat/", "/ws/", "/back/ws/"],
    "notifier": ["/api/push/"],
    "web": ["/u/", "/app/", "/static/"],
}
nginx_upstream = {"accounts-api": "http://accounts_api", "chat-gateway": "http://gateway_all",
                  "notifier": "http://notifier", "web": "root @WEB_ROOT@"}
k8s = {}
for doc in ingress:
    for rule in doc["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            k8s[p["path"]] = p["backend"]["service"]["name"]
def location_body(path):
    m = re.search(r"location\s+" + re.escape(path) + r"\s*\{", template)
    if not m:
        return None
    depth, i = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(template[i], 0)
        i += 1
    return template[m.end():i - 1]
errors = []
for service, paths in routes.items():
    for path in paths:
        body = location_body(path)
        if body is None or nginx_upstream[service] not in body:
            errors.append(f"nginx: {path} does not go to {service}")
        if k8s.get(path) != service:
            errors.append(f"ingress: {path} goes to {k8s.get(path)}, expected {service}")
back = [p for p in k8s if p.startswith('/back/(')]
if len(back) != 3:
    errors.append(f"ingress: expected three /back rewrite paths, found {back}")
# The /back regexes are a second copy of the REST table: each REST path must match exactly
# the regex of its own service (ingress-nginx anchors them at the start), and the rewritten
# path must be the one without /back. /back/ws/ must not match: the gateway wants it as is.
for service in ("accounts-api", "chat-gateway", "notifier"):
    for path in routes[service]:
        if path.startswith(("/ws/", "/back/")):
            continue
        for probe in (path + "x/", path.rstrip("/")):
            hits = [(p, m) for p in back if (m := re.match(p, "/back" + probe))]
            if [k8s[p] for p, _ in hits] != [service]:
                errors.append(f"ingress: /back{probe} matches {[k8s[p] for p, _ in hits]}, expected [{service}]")
            elif "/" + hits[0][1].group(1) != probe:
                errors.append(f"ingress: /back{probe} is rewritten to /{hits[0][1].group(1)}")
for p in back:
    if re.match(p, "/back/ws/chat/r1/"):
        errors.append(f"ingress: {p} matches /back/ws/, which must reach the gateway unchanged")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

check_shell_scripts() {
    local scripts=("$deploy/cluster.sh" "$deploy/validate.sh" "$deploy/nginx/render.sh"
                   "$deploy/ensure-backends.sh" "$deploy/web/e2e/ci.sh" "$deploy/web/e2e/run.sh"
                   "$repo/docs/asyncapi/check.sh")
    local s
    scripts+=("$deploy/containers.sh")
    for s in "${scripts[@]}"; do
        bash -n "$s" || return 1
    done
    shellcheck -x "${scripts[@]}"
}

# Every setting the images, the manifests and compose give the services is either the
# code's own default or one of the deliberate deployment choices below; a copy that drifts
# (a throttle tightened in one place only) or a name the services no longer read fails.
check_env_defaults() {
    "$venv/bin/python" - "$repo" <<'EOF'
import os, re, sys, yaml
repo = sys.argv[1]

def code_defaults(*paths):
    """NAME -> default as text (None when it has none) from clap `#[arg(... env = ...)]`."""
    out = {}
    for path in paths:
        text = open(os.path.join(repo, path)).read()
        for attr in re.findall(r"#\[arg\((.*?)\)\]\s*pub", text, re.S):
            env = re.search(r'env\s*=\s*"([A-Z0-9_]+)"', attr)
            if not env:
                continue
            default = None
            if m := re.search(r'default_value\s*=\s*"([^"]*)"', attr):
                default = m.group(1)
            elif m := re.search(r"default_value\s*=\s*C::([A-Z_]+)", attr):
                # A per-service default of the shared settings: the service's `ServiceConfig`
                # constant of that name, in the first file given.
                const = re.search(
                    rf'const {m.group(1)}: &\'static str = "([^"]*)"',
                    open(os.path.join(repo, paths[0])).read(),
                )
                default = const.group(1) if const else None
            elif m := re.search(r"default_value_t\s*=\s*([^,]+?)\s*(?:,|$)", attr):
                expr = m.group(1).replace("_", "")
                default = str(eval(expr)) if re.fullmatch(r"[0-9 *+]+", expr) else expr
            out[env.group(1)] = default
    if not out:
        sys.exit(f"no settings found in {paths}")
    return out

shared = (
    "shared/src/service/settings.rs",
    "shared/src/telemetry.rs",
    "shared/src/events/nats_auth.rs",
)
services = {
    "accounts-api": code_defaults("services/accounts-api/src/config.rs", *shared),
    "chat-gateway": code_defaults("services/chat-gateway/src/config.rs", *shared),
    "notifier": code_defaults("services/notifier/src/config.rs", *shared),
}
for known in services.values():
    known["RUST_LOG"] = "info"  # the tracing filter's fallback
    known["PGPASSWORD"] = None  # read by the Postgres driver

# Settings whose deployed value differs from the code's on purpose.
DEPLOYMENT_CHOICES = {
    "LISTEN_ADDR",          # containers listen on every interface
    "LOG_FORMAT",           # JSON lines for a log collector
    "TRUST_FORWARDED_FOR",  # behind the ingress
    "DATABASE_URL", "NATS_URL", "REPLICA_ID",
    "NATS_USER", "NATS_PASSWORD",  # each service's own NATS user (deploy/nats/nats.conf)
}

settings = []  # (where, service, name, value; None for valueFrom)
for service in services:
    text = open(os.path.join(repo, f"deploy/docker/{service}.Dockerfile")).read()
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", text, re.M):
        for name, value in re.findall(r"([A-Z0-9_]+)=(\S*)", block):
            settings.append((f"{service}.Dockerfile", service, name, value))
    for doc in yaml.safe_load_all(open(os.path.join(repo, f"deploy/k8s/{service}.yaml"))):
        if doc.get("kind") != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                settings.append((f"k8s/{service}.yaml", service, env["name"], env.get("value")))
compose = yaml.safe_load(open(os.path.join(repo, "deploy/compose.yaml")))
for name, svc in compose["services"].items():
    service = next((s for s in services if f"carinfo/{s}:" in str(svc.get("image", ""))), None)
    if service:
        for key, value in (svc.get("environment") or {}).items():
            settings.append((f"compose.yaml {name}", service, key, str(value)))
# .env.example reaches both services, and Postgres, whose own settings are skipped.
for line in open(os.path.join(repo, "deploy/.env.example")):
    if (m := re.match(r"([A-Z0-9_]+)=(.*)$", line.strip())) and not m.group(1).startswith("POSTGRES_"):
        for service in services:
            settings.append((".env.example", service, m.group(1), m.group(2)))

errors = []
for where, service, name, value in settings:
    known = services[service]
    if name not in known:
        errors.append(f"{where}: {name} is not a {service} setting")
    elif value is None or name in DEPLOYMENT_CHOICES or known[name] is None:
        continue
    elif value.lower() != known[name].lower():
        errors.append(f"{where}: {name}={value}, but the {service} default is {known[name]}")
print(f"{len(settings)} settings checked")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

# The runtime stage is the last one, on ${BASE_IMAGE} (debian:bookworm-slim unless a build
# says otherwise); a service's takes its binary from the `binary` stage, which is the cargo
# builder by default and the `prebuilt` context (the binary alone) when CI builds it.
check_dockerfiles() {
    "$venv/bin/python" - "$repo" <<'EOF'
import os, re, sys
repo = sys.argv[1]
errors = []

def stages(text):
    """[(name, instructions)] per FROM, continuation lines joined."""
    out = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if m := re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.I):
            out.append((m.group(1), [line]))
        elif out and line.strip() and not line.startswith("#"):
            out[-1][1].append(line)
    return out

for name in ("accounts-api", "chat-gateway", "notifier", "nginx"):
    text = open(os.path.join(repo, "deploy/docker", f"{name}.Dockerfile")).read()
    found = stages(text)
    if "ARG BASE_IMAGE=debian:bookworm-slim" not in text.splitlines():
        errors.append(f"{name}: no `ARG BASE_IMAGE=debian:bookworm-slim` before the first FROM")
    if not found or found[-1][1][0].split()[1] != "${BASE_IMAGE}":
        errors.append(f"{name}: the last stage is not `FROM ${{BASE_IMAGE}}`")
    for needle in ("HEALTHCHECK", "EXPOSE"):
        if not found or not any(l.startswith(needle) for l in found[-1][1]):
            errors.append(f"{name}: the runtime stage has no {needle}")
    users = [l.split()[1] for l in (found[-1][1] if found else []) if l.startswith("USER")]
    if not users or not re.fullmatch(r"[1-9][0-9]*:[0-9]+", users[-1]):
        errors.append(f"{name}: the runtime stage must run as a numeric non-root USER uid:gid")
    for stage, lines in found:
        for line in lines:
            m = re.match(r"COPY\s+(?!--from)(\S+)\s", line)
            if not m:
                continue
            if stage == "prebuilt":
                if m.group(1) != name:
                    errors.append(f"{name}: the prebuilt stage copies {m.group(1)}, not the binary")
            elif m.group(1) != "." and not os.path.exists(os.path.join(repo, m.group(1))):
                errors.append(f"{name}: COPY source {m.group(1)} does not exist")
    if not os.path.isfile(os.path.join(repo, "deploy/docker", f"{name}.Dockerfile.dockerignore")):
        errors.append(f"{name}: no {name}.Dockerfile.dockerignore (the context would include target/)")
for svc in ("accounts-api", "chat-gateway", "notifier"):
    text = open(os.path.join(repo, "deploy/docker", f"{svc}.Dockerfile")).read()
    if f"cargo build --release --locked -p {svc}" not in text:
        errors.append(f"{svc}: does not build with `cargo build --release --locked -p {svc}`")
    for needle in ("ARG BINARY_FROM=builder", "FROM rust:1-bookworm AS builder",
                   "FROM scratch AS prebuilt", "FROM ${BINARY_FROM} AS binary"):
        if needle not in text.splitlines():
            errors.append(f"{svc}: no `{needle}`")
    runtime = stages(text)[-1][1]
    if not any(l.startswith(f"COPY --from=binary /out/{svc} ") for l in runtime):
        errors.append(f"{svc}: the runtime stage does not copy /out/{svc} from the binary stage")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

echo "== tools"
check "python venv ($venv)" setup_venv
check "nginx and shellcheck (Debian packages)" setup_debian_tools
check "promtool (Debian package prometheus)" setup_promtool

echo "== checks"
if [[ -x "$venv/bin/python" ]]; then
    check "YAML parses (deploy/**/*.yaml)" check_yaml_parses
    check "Kubernetes manifests: kubernetes-validate --strict" check_k8s_schemas
    check "kustomization.yaml lists every manifest" check_kustomization_lists_manifests
    if command -v kubectl >/dev/null; then
        check "kubectl kustomize deploy/k8s builds and validates" check_kustomize_build
    else
        echo "skip  kubectl kustomize (kubectl not installed)"
    fi
    check "compose.yaml: compose-spec schema" check_compose_schema
    check "compose.yaml: referenced files exist" check_compose_references
    check "route table: nginx template and Ingress agree" check_route_table
    check "access logs record \$uri, never the query string (nginx template, ingress-nginx)" check_log_formats
    check "production nginx render: no replica pinning, no X-CarInfo-Upstream" check_production_nginx
    check "NATS: users and permissions in compose and Kubernetes, each service its own user" check_nats_auth
    check "Dockerfiles: build command, non-root user, context filters" check_dockerfiles
    check "service settings in images, manifests and compose match the code's defaults" check_env_defaults
fi
if command -v nginx >/dev/null; then
    check "nginx -t on the rendered template" check_nginx_syntax
    [[ -x "$venv/bin/python" ]] && check "nginx smoke test (routing, pinning, WebSocket, JSON errors, logs)" check_nginx_smoke
fi
check "deploy/web has the pages the ingress serves" check_web_root
check "alert rules: promtool check rules and test rules (observability/alerts*.yaml)" check_alert_rules
check "observability/prometheus.yaml: promtool check config" check_prometheus_config
check "Grafana dashboard: imports, every query valid PromQL" check_dashboard
command -v shellcheck >/dev/null && check "shell scripts: bash -n and shellcheck" check_shell_scripts
command -v node >/dev/null && check "cluster-e2e.mjs: node --check" node --check "$deploy/cluster-e2e.mjs"
for py in check-logs-for-secrets.py delete-nats-streams.py free-ports.py; do
    check "$py parses" python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$deploy/$py"
done

echo
if ((failed > 0)); then
    printf 'failed: %s\n' "${failed_names[@]}"
fi
echo "validate: $passed passed, $failed failed"
((failed == 0))
