#!/usr/bin/env bash
# Installs the npm packages the OTLP interop tests decode with (the
# OpenTelemetry project's protobufjs root and grpc-js) into BUILD_DIR/npm.
# Idempotent; the only step that needs the npm registry.
#   scripts/npm-deps.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-build}/npm"
manifest=tests/interop/otlp-node-receiver/package.json
mkdir -p "$dest"
if cmp -s "$manifest" "$dest/package.json" &&
   [ -f "$dest/node_modules/@opentelemetry/otlp-transformer/package.json" ] &&
   [ -f "$dest/node_modules/@grpc/grpc-js/package.json" ]; then
  echo "npm-deps: present in $dest"
  exit 0
fi
cp "$manifest" "$dest/package.json"
echo "npm-deps: installing into $dest"
npm install --prefix "$dest" --no-audit --no-fund --no-package-lock --ignore-scripts --loglevel=error
