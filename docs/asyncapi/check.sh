#!/usr/bin/env bash
# Validates docs/asyncapi.yaml with the official AsyncAPI parser (@asyncapi/parser, pinned by
# package-lock.json beside this script): any diagnostic of error severity fails, and so does a
# missing tool. Node.js comes from Debian when it is missing; the parser is installed from the
# lock file when node_modules lacks it or is older than the lock. Install scripts are not run:
# the parser needs none, and one of its dependencies would only report usage.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/sbin:/sbin"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    [[ $EUID -eq 0 ]] || { echo "asyncapi: node and npm are missing; installing them needs root" >&2; exit 1; }
    packages=(nodejs)
    # Debian ships npm separately; a Node.js from elsewhere may have node but no npm.
    command -v npm >/dev/null || packages+=(npm)
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${packages[@]}" \
        || { apt-get -o DPkg::Lock::Timeout=600 update \
             && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${packages[@]}"; }
fi

cd "$here"
if [[ ! -f node_modules/@asyncapi/parser/package.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --ignore-scripts
fi
exec node validate.mjs "$@"
