#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over the project's own sources with warnings as
# errors, reading BUILD_DIR/compile_commands.json (configure and build it
# first: the sources include generated protobuf headers).
#   scripts/check-tidy.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
mapfile -t files < <(git ls-files 'src/*.cc' 'tests/*.cc' 'bench/*.cc' | grep -v '/fuzz/')
# Two at a time: the machine has two cores.
printf '%s\n' "${files[@]}" |
  xargs -P 2 -n 1 clang-tidy -p "$build_dir" --quiet --warnings-as-errors='*' 2> >(grep -v "warnings generated" >&2)
echo "tidy: ${#files[@]} files clean"
