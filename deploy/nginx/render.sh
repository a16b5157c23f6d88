#!/usr/bin/env bash
# Renders carinfo.conf.template: `render.sh OUT KEY=VALUE...` replaces each @KEY@.
# One renderer for cluster.sh, validate.sh and the nginx image, so the three cannot drift;
# it refuses to write a file that still holds a placeholder, because nginx would report
# that as a confusing syntax error far from its cause.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="${TEMPLATE:-$here/carinfo.conf.template}"

if [[ $# -lt 1 ]]; then
    echo "usage: $0 OUT LISTEN_PORT=... ACCOUNTS_UPSTREAM=... GATEWAY_A_UPSTREAM=... GATEWAY_B_UPSTREAM=... WEB_ROOT=... RUNTIME_DIR=..." >&2
    exit 2
fi
out="$1"
shift

content="$(<"$template")"
for pair in "$@"; do
    key="${pair%%=*}"
    value="${pair#*=}"
    if [[ ! "$key" =~ ^[A-Z_]+$ || "$key" == "$pair" ]]; then
        echo "render.sh: expected KEY=VALUE, got '$pair'" >&2
        exit 2
    fi
    # nginx splits unquoted arguments on whitespace and ';' ends a directive.
    if [[ "$value" =~ [[:space:]\;\'\"{}] || -z "$value" ]]; then
        echo "render.sh: $key must be non-empty, without spaces, quotes, braces or ';': '$value'" >&2
        exit 2
    fi
    content="${content//@"$key"@/"$value"}"
done

if leftover="$(grep -o '@[A-Z_]*@' <<<"$content" | sort -u | tr '\n' ' ')" && [[ -n "$leftover" ]]; then
    echo "render.sh: placeholders left unset: $leftover" >&2
    exit 1
fi

mkdir -p "$(dirname "$out")"
printf '%s\n' "$content" >"$out.tmp"
mv "$out.tmp" "$out"
