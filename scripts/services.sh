#!/usr/bin/env bash
# Start the local services the tests use when they are not running, and install the ones that
# come from package registries (Azurite and axe-core from npm, Chromium from Debian). Idempotent.
set -uo pipefail
cd "$(dirname "$0")/.."

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432 && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! port_open 3306 && [ -x /usr/sbin/mariadbd ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 30); do port_open 3306 && break; sleep 1; done
fi
# Azurite (Azure Blob emulator) for the connector tests; they start it themselves on a free port.
if [ ! -x .cache/node/node_modules/.bin/azurite-blob ] && ! command -v azurite-blob >/dev/null \
   && command -v npm >/dev/null; then
  npm install --silent --no-fund --no-audit --prefix .cache/node azurite || true
fi
# axe-core (accessibility checks of the console's pages), next to Azurite.
if [ ! -f .cache/node/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then
  npm install --silent --no-fund --no-audit --prefix .cache/node axe-core || true
fi
# Chromium (Debian's package) for the browser tests; Playwright drives it, no browser download.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    >/dev/null || echo "services.sh: could not install chromium" >&2
fi
exit 0
