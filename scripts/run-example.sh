#!/usr/bin/env bash
# run-example.sh <program> [args...]: installs dependencies, builds one of examples/ in release
# mode and runs it with the remaining arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
program="$1"
shift
scripts/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release --target "$program"
exec "build/release/examples/$program" "$@"
