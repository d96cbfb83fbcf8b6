#!/usr/bin/env bash
# Installs the example AppWright project (examples/appwright-demo) that the agent's AppWright
# runner tests run for real. Idempotent: does nothing when node_modules already matches the
# lock file (a stamp holds the hash of package.json + package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../examples/appwright-demo"

hash_inputs() {
  if [ -f package-lock.json ]; then cat package.json package-lock.json; else cat package.json; fi |
    sha256sum | cut -d' ' -f1
}

stamp=node_modules/.qgjob-install-stamp
want="$(hash_inputs)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
  [ -f node_modules/@playwright/test/cli.js ] && [ -f node_modules/appwright/package.json ]; then
  exit 0
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
# npm install may have written the lock file: hash what is there now.
hash_inputs >"$stamp"
