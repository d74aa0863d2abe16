#!/usr/bin/env bash
# benchmarks/gpu/run.sh — the one script a GPU session runs (an image with nvcc, PyTorch and
# ncu but none of Debian's packages). It needs the binaries built here beforehand and carried:
#   cmake --build build/release --target thaw_gpu_tests bench_gpu
#   run(command="bash benchmarks/gpu/run.sh", carry=["build/release/tests/gpu/thaw_gpu_tests",
#       "build/release/benchmarks/gpu/bench_gpu"])
# They need only libcudart.so.13, libcublas.so.13 and libcublasLt.so.13 beyond libc/libstdc++;
# this script finds those in the image. Writes everything under $OUT (default ./gpu-results).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
tests=build/release/tests/gpu/thaw_gpu_tests
bench=build/release/benchmarks/gpu/bench_gpu
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  # Folders holding the CUDA 13 libraries the binaries were linked against (pip wheels, the toolkit).
  libdirs=$(find / -xdev \( -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcudart.so.13*' \) \
            2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)
  echo "library folders: ${libdirs:-none found}"
  export LD_LIBRARY_PATH=${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  for b in "$tests" "$bench"; do echo "== ldd $b"; ldd "$b" 2>&1; done
} > "$out/environment.txt" 2>&1
export LD_LIBRARY_PATH=$(grep '^library folders:' "$out/environment.txt" | cut -d' ' -f3- | sed 's/none found//')
echo "environment: $out/environment.txt"; cat "$out/environment.txt" | head -5

status=0
echo "== thaw_gpu_tests"
timeout 180 "$tests" 2>&1 | tee "$out/gpu_tests.txt" || status=1
echo "== bench_gpu (thaw)"
timeout 120 "$bench" 32 128 2>&1 | tee "$out/bench.jsonl" || status=1
echo "== PyTorch eager"
timeout 120 python3 benchmarks/gpu/torch_gpu.py 32 128 2>&1 | tee -a "$out/bench.jsonl" || status=1
exit $status
