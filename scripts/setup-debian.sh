#!/usr/bin/env bash
# Installs, from Debian 12's apt, everything thaw's build, tests, examples and benchmarks
# need, including the test oracles (PyTorch, torchvision, numpy, Pillow, pydicom, DCMTK tools). Does nothing if all is there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build clang-14 libomp-14-dev
  libeigen3-dev libxtensor-dev xtl-dev libboost-dev libopenblas-openmp-dev libcli11-dev
  catch2 libbenchmark-dev nlohmann-json3-dev libzip-dev libstb-dev libspng-dev libdcmtk-dev libclang-rt-14-dev
  python3 python3-numpy python3-torch python3-torchvision python3-sklearn python3-pil python3-pydicom dcmtk
  curl unzip
  libcli11-dev chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
