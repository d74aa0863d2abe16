#!/usr/bin/env bash
# The main job end to end on a tiny synthetic experiment (tb_transfer_experiment.py says what is checked).
set -euo pipefail
exec "${THAW_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/tb_transfer_experiment.py" "$1"
