#!/usr/bin/env bash
# benchmarks/gpu/run.sh — the one script a GPU session runs (an image with nvcc, PyTorch and
# ncu but none of Debian's packages). It needs the binaries built here beforehand and carried:
#   cmake --build build/release --target thaw_gpu_tests bench_gpu
#   mkdir -p build/release/gpu-runtime && cp -L /lib/x86_64-linux-gnu/libstdc++.so.6 \
#     /lib/x86_64-linux-gnu/libgcc_s.so.1 build/release/gpu-runtime/
#   run(command="bash benchmarks/gpu/run.sh", carry=["build/release/tests/gpu/thaw_gpu_tests",
#       "build/release/benchmarks/gpu/bench_gpu", "build/release/gpu-runtime"])
# They need only libcudart.so.13, libcublas.so.13, libcublasLt.so.13 and libcudnn.so.9 beyond
# libc/libstdc++; this script finds those in the image (about four minutes in all). Writes everything under $OUT (default ./gpu-results):
# environment.txt, gpu_tests.txt, bench.jsonl, cudnn_plans.txt, ratios.txt and memcheck.txt;
# with TORCH_COMPILE=1 also torch.compile's timings, with NCU=1 ncu.txt (a kernel profile).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
tests=build/release/tests/gpu/thaw_gpu_tests
bench=build/release/benchmarks/gpu/bench_gpu
# Folders holding the CUDA 13 libraries the binaries were linked against (pip wheels, the toolkit).
libdirs=$(find / -xdev \( -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcudart.so.13*' \
          -o -name 'libcudnn.so.9*' \) \
          2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)
export LD_LIBRARY_PATH=${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Debian 12's libstdc++ and libgcc_s, carried in build/release/gpu-runtime, where the image's are older.
if ldd "$tests" "$bench" 2>&1 | grep -q 'not found'; then
  export LD_LIBRARY_PATH=$PWD/build/release/gpu-runtime:$LD_LIBRARY_PATH
fi
sanitizer=$(command -v compute-sanitizer || find / -xdev -name compute-sanitizer -type f 2>/dev/null | head -1)
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  echo "library folders: ${libdirs:-none found}"
  echo "compute-sanitizer: ${sanitizer:-none found}"
  python3 -c 'import torch; print("torch", torch.__version__, "cuDNN", torch.backends.cudnn.version())' 2>&1
  for b in "$tests" "$bench"; do echo "== ldd $b"; ldd "$b" 2>&1; done
} > "$out/environment.txt" 2>&1
head -4 "$out/environment.txt"

status=0
echo "== thaw_gpu_tests ($(date +%T))"
timeout 180 "$tests" 2>&1 | tee "$out/gpu_tests.txt" || status=1
echo "== bench_gpu (thaw; cuDNN's choices in cudnn_plans.txt) ($(date +%T))"
THAW_CUDNN_LOG=1 timeout 150 "$bench" 32 128 2> "$out/cudnn_plans.txt" | tee "$out/bench.jsonl" || status=1
echo "== PyTorch ($(date +%T))"
timeout 90 python3 benchmarks/gpu/torch_gpu.py 32 128 2>&1 | tee -a "$out/bench.jsonl" || status=1
if [ -n "${TORCH_COMPILE:-}" ]; then  # torch.compile's CUDA-graph mode, mid-level step only (slow to compile)
  echo "== torch.compile ($(date +%T))"
  timeout 200 python3 benchmarks/gpu/torch_gpu.py --compile-only 32 128 2>&1 | tee -a "$out/bench.jsonl"
fi
if [ -n "${NCU:-}" ]; then  # where the mid-level graph step's time goes, kernel by kernel (batch 128, TF32)
  echo "== ncu ($(date +%T))"
  timeout 150 ncu --graph-profiling node --print-summary per-kernel \
    --metrics gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed \
    "$bench" --profile 128 > "$out/ncu.txt" 2>&1 || status=1
  tail -40 "$out/ncu.txt"
fi
if [ -n "$sanitizer" ]; then
  echo "== compute-sanitizer memcheck: mid-level FE steps, uncaptured and replayed ($(date +%T))"
  timeout 60 "$sanitizer" --tool memcheck --error-exitcode 9 "$tests" "captured mid-level FE step" \
    > "$out/memcheck.txt" 2>&1 || status=1
  tail -3 "$out/memcheck.txt"
fi
echo "== done ($(date +%T))"
python3 benchmarks/gpu/compare.py "$out/bench.jsonl" | tee "$out/ratios.txt"
exit $status
