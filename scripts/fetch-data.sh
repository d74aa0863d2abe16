#!/usr/bin/env bash
# Downloads the real data thaw's main job (examples/tb_transfer) needs (torchvision's AlexNet weights, the NLM
# Shenzhen and Montgomery chest X-ray sets) on a machine with internet access, and verifies
# each file's SHA-256 before it is used: a file is downloaded to <name>.part, hashed, and only
# renamed into place when the hash is right; a wrong hash deletes it and stops with an error.
#
#   scripts/fetch-data.sh [--dest DIR] [--sources FILE] [--record-new-hashes]
#
# DIR defaults to data/. FILE (default scripts/data-sources.txt) lists <name> <sha256|-> <url>
# [unzip]. Files already present with the right hash are not downloaded again.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dest=data
sources="$here/data-sources.txt"
record=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --sources) sources="$2"; shift 2 ;;
    --record-new-hashes) record=1; shift ;;
    *) echo "fetch-data: unknown option $1" >&2; exit 2 ;;
  esac
done

for tool in curl sha256sum unzip; do
  command -v "$tool" >/dev/null || { echo "fetch-data: needs $tool (Debian: apt-get install curl coreutils unzip)" >&2; exit 1; }
done
mkdir -p "$dest"
local_sums="$dest/SHA256SUMS.local"
touch "$local_sums"

# The hash a file must have: the sources list's, or one recorded earlier on this machine.
expected_hash() {
  local name="$1" listed="$2"
  if [ "$listed" != "-" ]; then echo "$listed"; return; fi
  awk -v n="$name" '$2 == n { print $1 }' "$local_sums"
}

failures=0
while read -r name listed url action; do
  case "$name" in ''|'#'*) continue ;; esac
  target="$dest/$name"
  expected="$(expected_hash "$name" "$listed")"
  if [ -f "$target" ] && [ -n "$expected" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$expected" ]; then
    echo "fetch-data: $name present, SHA-256 verified"
  else
    if [ -z "$expected" ] && [ "$record" -eq 0 ]; then
      echo "fetch-data: $name has no known SHA-256; rerun with --record-new-hashes to trust this download" >&2
      failures=$((failures + 1)); continue
    fi
    echo "fetch-data: downloading $name from $url"
    rm -f "$target.part"
    if ! curl --fail --location --silent --show-error --retry 3 --output "$target.part" "$url"; then
      rm -f "$target.part"; echo "fetch-data: download of $name failed" >&2
      failures=$((failures + 1)); continue
    fi
    got="$(sha256sum "$target.part" | cut -d' ' -f1)"
    if [ -z "$expected" ]; then
      echo "$got  $name" >> "$local_sums"
      echo "fetch-data: recorded SHA-256 $got for $name in $local_sums (no published checksum to compare with)"
    elif [ "$got" != "$expected" ]; then
      rm -f "$target.part"
      echo "fetch-data: $name has SHA-256 $got, expected $expected; deleted it (damaged or substituted download)" >&2
      failures=$((failures + 1)); continue
    fi
    mv "$target.part" "$target"
    echo "fetch-data: $name verified"
  fi
  if [ "${action:-}" = unzip ]; then
    unzip -q -o "$target" -d "$dest"
    echo "fetch-data: unpacked $name into $dest"
  fi
done < "$sources"

if [ "$failures" -gt 0 ]; then
  echo "fetch-data: $failures file(s) not fetched; see the messages above" >&2
  exit 1
fi
echo "fetch-data: all files in $dest verified"
