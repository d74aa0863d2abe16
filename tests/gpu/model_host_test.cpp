// tests/gpu/model_host_test.cpp — Model<Net, Cuda> built with Thrust's CPP system (the
// backend's kernels and the host GEMM with cuBLAS's conventions, all on the host) against
// Model<Net, Cpu>: the CUDA Model path's memory hooks, device loss and Adam, and the Trainer on
// it, checked in CI where there is no GPU. Two cases (the paper's proposal and the alternating
// pattern), batch 1 and 3 Adam steps keep the naive host GEMM to seconds; the GPU runs all ten
// (gpu_tests.cu).
#include <string>
#include <utility>

#include "model_checks.hpp"
#include "trainer_checks.hpp"

static_assert(!THAW_CUDA_ON_DEVICE, "build this test with -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP");

int main(int argc, char** argv) {
  using namespace thaw::gpu_test;
  auto checks = model_checks<thaw::paper::MidLevelFE, Alternating>(make_model_inputs(1, 3, 31), 1);
  for (auto& check : trainer_checks<thaw::paper::MidLevelFE>(37)) checks.push_back(std::move(check));
  return run_checks(checks, argc > 1 ? argv[1] : "");
}
