#!/usr/bin/env bash
# The main job: the paper's pipeline on thaw's built-in synthetic chest X-rays unless given real
# data (installs dependencies and builds first). Arguments go to the program, e.g.
#   scripts/tb_transfer.sh --train-dir DIR --test-dir DIR --weights alexnet-owt-7be5be79.pth
exec "$(dirname "$0")/run-example.sh" tb_transfer "$@"
