#!/usr/bin/env bash
# Installs what the tests need (idempotent) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

# The real @databricks/appkit proxy fixture; reinstall only when the lockfile changed.
fixture=fixtures/proxies/appkit-node
if [ ! -f "$fixture/node_modules/.package-lock.json" ] || [ "$fixture/package-lock.json" -nt "$fixture/node_modules/.package-lock.json" ]; then
  (cd "$fixture" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Every workspace binary first: the CLI tests start `mock-agent` as a proxy command.
cargo build --workspace --bins
cargo test --workspace
