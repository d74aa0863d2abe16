#!/usr/bin/env bash
# The main job: installs dependencies, builds the quickstart in release mode and runs it.
# Extra arguments go to the program (e.g. --weights DIR --batch 32 --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release --target quickstart
exec build/release/examples/quickstart "$@"
