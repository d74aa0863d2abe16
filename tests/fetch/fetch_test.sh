#!/usr/bin/env bash
# scripts/fetch-data.sh against a local HTTP server on 127.0.0.1: right hashes are accepted and
# files land in place (zips unpacked), wrong hashes are refused and leave nothing behind,
# verified files are not fetched again, unknown hashes need --record-new-hashes and are then
# enforced, failed downloads are reported.
set -uo pipefail
fetch="$(cd "$(dirname "$0")/../.." && pwd)/scripts/fetch-data.sh"
python="${THAW_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/serve" "$work/dest"
head -c 100000 /dev/urandom > "$work/serve/weights.bin"
"$python" -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w'); z.writestr('Set/CXR_png/X_0001_1.png','png'); z.close()" \
  "$work/serve/set.zip"
port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$python" -m http.server "$port" --bind 127.0.0.1 --directory "$work/serve" 2>"$work/server.log" &
server=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done

url="http://127.0.0.1:$port"
hash() { sha256sum "$1" | cut -d' ' -f1; }
failed=0
check() {  # check <description> <command...>: the command must succeed
  local what="$1"; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failed=1; fi
}
run() { "$fetch" --dest "$work/dest" --sources "$work/sources.txt" "$@" >"$work/out.txt" 2>&1; }

printf 'weights.bin %s %s/weights.bin\nset.zip %s %s/set.zip unzip\n' \
  "$(hash "$work/serve/weights.bin")" "$url" "$(hash "$work/serve/set.zip")" "$url" > "$work/sources.txt"
check "right hashes: success" run
check "the file is in place" cmp -s "$work/serve/weights.bin" "$work/dest/weights.bin"
check "the zip is unpacked" test -f "$work/dest/Set/CXR_png/X_0001_1.png"
gets=$(grep -c "GET /weights.bin" "$work/server.log")
check "a second run succeeds" run
check "and says the file is verified" grep -q "weights.bin present, SHA-256 verified" "$work/out.txt"
check "without downloading it again" test "$(grep -c "GET /weights.bin" "$work/server.log")" -eq "$gets"

printf 'other.bin %s %s/weights.bin\n' "$(printf 'x' | sha256sum | cut -d' ' -f1)" "$url" > "$work/sources.txt"
check "a wrong hash fails" test "$(run; echo $?)" -ne 0
check "saying what it expected" grep -q "expected" "$work/out.txt"
check "and leaves no file" test ! -e "$work/dest/other.bin" -a ! -e "$work/dest/other.bin.part"

printf 'new.bin - %s/weights.bin\n' "$url" > "$work/sources.txt"
check "an unknown hash is refused by default" test "$(run; echo $?)" -ne 0
check "pointing to --record-new-hashes" grep -q -- "--record-new-hashes" "$work/out.txt"
check "--record-new-hashes accepts it" run --record-new-hashes
check "and records its hash" grep -q "$(hash "$work/serve/weights.bin")  new.bin" "$work/dest/SHA256SUMS.local"
rm "$work/dest/new.bin"
head -c 100 /dev/urandom >> "$work/serve/weights.bin"   # the server now sends something else
check "a recorded hash is enforced later" test "$(run; echo $?)" -ne 0
check "and the changed file is not kept" test ! -e "$work/dest/new.bin"

printf 'missing.bin %s %s/missing.bin\n' "$(hash "$work/serve/set.zip")" "$url" > "$work/sources.txt"
check "a 404 fails" test "$(run; echo $?)" -ne 0
check "saying the download failed" grep -q "download of missing.bin failed" "$work/out.txt"
exit $failed
