#!/bin/bash
# Install what the ecosystem tests (tests/ecosystem/) need besides Python: Debian's chromium (a real headless
# browser, driven over the DevTools protocol, so nothing downloads a browser) and the Node packages of
# tests/ecosystem/node (@stomp/stompjs 7 and ws, pinned by its package-lock.json). Idempotent; runs as root
# on Debian 12 (apt for chromium, npm for the rest). Node and npm come from Debian too when missing.
#   scripts/ecosystem.sh           install what is missing
#   scripts/ecosystem.sh status    say what is there; exit 1 when something is missing
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
NODE_DIR=tests/ecosystem/node

status() {
  rc=0
  for tool in node npm chromium; do
    if command -v "$tool" >/dev/null; then echo "$tool: $(command -v "$tool")"; else echo "$tool: missing"; rc=1; fi
  done
  if [ -f "$NODE_DIR/node_modules/@stomp/stompjs/package.json" ] && [ -f "$NODE_DIR/node_modules/ws/package.json" ]
  then echo "npm packages: installed in $NODE_DIR/node_modules"
  else echo "npm packages: missing (npm ci in $NODE_DIR)"; rc=1; fi
  return $rc
}

install() {
  missing=()
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v chromium >/dev/null || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # npm ci wipes and reinstalls node_modules: only when the lock file changed since the last install
  # (a copy of the lock file in node_modules marks the last install)
  if ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.installed-lock.json" 2>/dev/null; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.installed-lock.json"
  fi
}

case "${1:-install}" in
  install) install; status ;;
  status) status ;;
  *) echo "usage: $0 [install|status]" >&2; exit 2 ;;
esac
