#!/usr/bin/env bash
# Renders carinfo.conf.template: `render.sh OUT KEY=VALUE...` replaces each @KEY@.
# One renderer for cluster.sh, validate.sh and the nginx image, so the three cannot drift;
# it refuses to write a file that still holds a placeholder, because nginx would report
# that as a confusing syntax error far from its cause.
#
# TEST_TOPOLOGY=on renders the template's `#@if TEST_TOPOLOGY` sections (replica pinning,
# X-CarInfo-Upstream) instead of their `#@else` parts; the default, off, is production.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="${TEMPLATE:-$here/carinfo.conf.template}"

if [[ $# -lt 1 ]]; then
    echo "usage: $0 OUT LISTEN_PORT=... ACCOUNTS_UPSTREAM=... GATEWAY_A_UPSTREAM=... GATEWAY_B_UPSTREAM=... WEB_ROOT=... RUNTIME_DIR=... [TEST_TOPOLOGY=on|off]" >&2
    exit 2
fi
out="$1"
shift

# Keeps the lines of one topology: `#@if TEST_TOPOLOGY`, `#@else` and `#@end`, each alone on
# its line, not nested; any other `#@` line is a mistake.
sections() { # on|off < template
    awk -v keep="$1" '
        function fail(msg) { printf "render.sh: template line %d: %s\n", NR, msg > "/dev/stderr"; bad = 1; exit 1 }
        /^[[:space:]]*#@if TEST_TOPOLOGY[[:space:]]*$/ { if (open) fail("#@if inside #@if"); open = 1; on = (keep == "on"); next }
        /^[[:space:]]*#@else[[:space:]]*$/ { if (!open) fail("#@else without #@if"); on = !on; next }
        /^[[:space:]]*#@end[[:space:]]*$/ { if (!open) fail("#@end without #@if"); open = 0; next }
        /^[[:space:]]*#@/ { fail("unknown directive: " $0) }
        !open || on { print }
        END { if (!bad && open) fail("#@if without #@end") }
    '
}

test_topology=off
pairs=()
for pair in "$@"; do
    key="${pair%%=*}"
    value="${pair#*=}"
    if [[ ! "$key" =~ ^[A-Z_]+$ || "$key" == "$pair" ]]; then
        echo "render.sh: expected KEY=VALUE, got '$pair'" >&2
        exit 2
    fi
    if [[ "$key" == TEST_TOPOLOGY ]]; then
        [[ "$value" == on || "$value" == off ]] || { echo "render.sh: TEST_TOPOLOGY must be on or off, not '$value'" >&2; exit 2; }
        test_topology="$value"
    else
        pairs+=("$pair")
    fi
done

content="$(sections "$test_topology" <"$template")"
for pair in "${pairs[@]}"; do
    key="${pair%%=*}"
    value="${pair#*=}"
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
