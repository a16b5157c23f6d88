#!/usr/bin/env bash
# Runs the browser story (story.mjs) against $CARINFO_URL, installing what it needs first.
set -euo pipefail
# Screenshots land relative to the caller's directory, not this one.
SCREENSHOT_DIR="$(realpath -m "${SCREENSHOT_DIR:-./test-artifacts/e2e}")"
export SCREENSHOT_DIR
cd "$(dirname "$0")"
# A node_modules from before axe-core joined the lock file lacks it, so check both.
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
  npm ci --no-audit --no-fund
fi
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi
exec node story.mjs
