#!/usr/bin/env bash
# The one test command: installs dependencies, builds everything with g++ (-Werror) and runs
# every test, reruns the oracle comparisons with AVX2 kernels, then rebuilds the unit and I/O
# tests (and every header) with clang 14 under ASan+UBSan (-Werror) and runs them, with the
# weight-file and image fuzzers (60 s each).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh

jobs=$(nproc)
# ctest runs tests side by side; OpenMP threads that spin while waiting would steal the cores
# the other test needs (a 1 s test took 86 s that way).
export OMP_WAIT_POLICY=PASSIVE
start=$(date +%s)
cmake --preset release
cmake --build --preset release -j "$jobs"
echo "test.sh: release build took $(( $(date +%s) - start )) s"
ctest --preset release -j "$jobs"

# Users' CPUs differ (AVX2-only beside AVX-512) and so do the kernels PyTorch, oneDNN and OpenBLAS
# pick on them: run the oracle comparisons again with the references held to AVX2 and OpenBLAS
# (thaw's matrix products too) to its Haswell kernels, so both families are exercised wherever
# this runs.
start=$(date +%s)
ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell ctest --preset release -L parity -j "$jobs"
echo "test.sh: parity rerun with AVX2 references and Haswell OpenBLAS took $(( $(date +%s) - start )) s"

start=$(date +%s)
cmake --preset asan
cmake --build --preset asan -j "$jobs" --target thaw_unit_tests thaw_no_alloc_test thaw_resume_test thaw_io_tests \
  thaw_metrics_tests thaw_data_tests thaw_header_tests thaw_static_tests thaw_fuzz_unpickler thaw_fuzz_torch thaw_fuzz_safetensors \
  thaw_fuzz_image
echo "test.sh: asan build took $(( $(date +%s) - start )) s"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$jobs"
