#!/usr/bin/env bash
# The example programs' command lines (CLI11): --help prints the usage and every option name
# (exit 0), an unknown option and each bad value get one line naming it (exit 2), before any work.
# Usage: command_line_test.sh QUICKSTART VISUALIZE
set -uo pipefail
quickstart="$1" visualize="$2"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=0
# expect <exit code> <text the output must hold> <program> <args...>
expect() {
  local code="$1" text="$2"; shift 2
  "$@" > "$log" 2>&1
  local got=$?
  if [ "$got" -eq "$code" ] && grep -qF -- "$text" "$log"; then
    echo "ok   - $* -> $code, says '$text'"
  else
    echo "FAIL - $* -> $got (wanted $code and '$text'):"; cat "$log"; failed=1
  fi
}
# bad <option> <value> <the bad part, quoted in the message> <program> <args...>: exit 2,
# exactly one line, naming the option and the bad part
bad() {
  local option="$1" value="$2" part="$3"; shift 3
  expect 2 "$option: must be a whole number" "$@" "$option" "$value"
  grep -qF -- "'$part'" "$log" || { echo "FAIL - the message does not quote '$part'"; failed=1; }
  [ "$(wc -l < "$log")" -eq 1 ] || { echo "FAIL - $* $option $value: more than one line"; failed=1; }
}
for option in --weights --batch --threads; do expect 0 "$option" "$quickstart" --help; done
for option in --weights --compare --images --layers --crop --out; do expect 0 "$option" "$visualize" --help; done
expect 2 "not expected: --bogus" "$quickstart" --bogus
expect 2 "not expected: --bogus" "$visualize" --crop --bogus
expect 2 "--out: 1 required" "$visualize" --out
bad --batch 0 0 "$quickstart"
bad --batch x x "$quickstart"
bad --threads -1 -1 "$quickstart"
bad --layers 6 6 "$visualize"
bad --layers 2,a a "$visualize" --crop
exit $failed
