#!/usr/bin/env bash
# The quickstart: the nine freeze patterns' costs, then a forward pass (installs dependencies
# and builds first). Arguments go to the program, e.g. --weights DIR --batch 32 --threads 2.
exec "$(dirname "$0")/run-example.sh" quickstart "$@"
