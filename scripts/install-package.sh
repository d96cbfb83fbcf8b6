#!/bin/sh
# Installs a packed qgjob tarball (npm pack) into a folder with production dependencies only:
# what the Dockerfile's install stage runs, and what the package test runs.
#   scripts/install-package.sh qgjob-0.1.0.tgz /opt/qgjob
# npm 12 runs no dependency install scripts unless the installing package allows them (npm 11
# warns), and better-sqlite3 needs its own (it fetches or compiles its native binding), so a
# new folder's package.json allows it.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 <qgjob-*.tgz> <folder>" >&2
  exit 2
fi
tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
mkdir -p "$2"
cd "$2"
if [ ! -f package.json ]; then
  printf '{\n  "private": true,\n  "allowScripts": { "better-sqlite3": true }\n}\n' >package.json
fi
# --prefix: this folder, even when run from an npm script (which exports the caller's prefix).
npm install --prefix "$(pwd)" --omit=dev --no-audit --no-fund "$tarball"
