#!/usr/bin/env bash
# The main job end to end on a small synthetic set: it must write the split, the results with
# an AUC and a DeLong interval for both test sets, and a second run must reuse the drawn images
# and resume from the checkpoint instead of training again; real-data options are checked.
set -uo pipefail
main_job="$1"
python="${THAW_PYTHON:-/usr/bin/python3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0
check() {
  local what="$1"; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failed=1; fi
}
logged() {  # logged <file> <command...>: runs the command with its output in <file>
  local log="$1"; shift
  "$@" > "$log" 2>&1 || { cat "$log"; return 1; }
}
args=(--out "$out" --synthetic-train 24 --synthetic-test 12 --epochs 2 --batch 8)
check "first run succeeds" logged "$out/first.log" "$main_job" "${args[@]}"
check "it says the data are synthetic" grep -q "SYNTHETIC" "$out/first.log"
check "it trains two epochs" grep -q "epoch 2/2" "$out/first.log"
check "split.json lists 24 images" "$python" -c "
import json, sys; s = json.load(open(sys.argv[1])); sys.exit(len(s['train']) + len(s['validation']) != 24)" "$out/split.json"
check "results.json has AUCs and intervals" "$python" -c "
import json, sys; r = json.load(open(sys.argv[1]))
ok = all(0 <= r[k]['auc'] <= 1 and r[k]['ci95'][0] <= r[k]['auc'] <= r[k]['ci95'][1] for k in ('validation', 'external'))
sys.exit(not (ok and r['external']['images'] == 12 and r['data'].startswith('synthetic')))" "$out/results.json"
check "second run succeeds" logged "$out/second.log" "$main_job" "${args[@]}"
check "and reuses the synthetic images" grep -q "synthetic set already in" "$out/second.log"
check "and resumes instead of training again" test "$(grep -c "^epoch " "$out/second.log")" -eq 0
check "other settings in the same folder are refused" test "$("$main_job" "${args[@]}" --lr 0.5 > "$out/bad.log" 2>&1; echo $?)" -eq 1
check "naming the settings file" grep -q "settings.json" "$out/bad.log"
check "--train-dir without --test-dir is refused" test "$("$main_job" --train-dir x > "$out/bad.log" 2>&1; echo $?)" -eq 2
check "a missing folder is named" test "$("$main_job" --out "$out/other" --train-dir "$out/none" --test-dir "$out/none" > "$out/bad.log" 2>&1; echo $?)" -eq 1
check "in the message" grep -q "none' does not exist" "$out/bad.log"
exit $failed
