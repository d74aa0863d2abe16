#!/usr/bin/env bash
# The main job: installs dependencies, builds the experiment in release mode and runs it — the
# paper's pipeline on thaw's built-in synthetic chest X-rays unless given real data. Extra
# arguments go to the program, e.g. --train DIR --test DIR --weights alexnet-owt-7be5be79.pth.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release --target experiment
exec build/release/examples/experiment "$@"
