// tests/gpu/host_backend_test.cpp — the CUDA backend's layers, kernels, loss and Adam run
// on the host (Thrust's CPP system, the host GEMM with cuBLAS's conventions) against the CPU
// backend: the GPU code's logic, checked where there is no GPU. Batch 2 keeps the naive host
// GEMM to a few seconds.
#include <string>

#include "backend_checks.hpp"

static_assert(!THAW_CUDA_ON_DEVICE, "build this test with -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP");

int main(int argc, char** argv) {
  return thaw::gpu_test::run_checks(thaw::gpu_test::all_checks(2), argc > 1 ? argv[1] : "");
}
