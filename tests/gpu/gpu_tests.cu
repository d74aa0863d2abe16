// tests/gpu/gpu_tests.cu — the CUDA backend on the GPU against the CPU backend (label gpu):
// the layers, loss and Adam, then whole models (the nine paper cases and one unusual freeze
// pattern). Without a usable CUDA device it prints one line and exits with 77, CTest's skip
// code here.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend_checks.hpp"
#include "graph_checks.hpp"
#include "trainer_checks.hpp"
#include "model_checks.hpp"

int main(int argc, char** argv) {
  // Batch 8: enough images for several GEMM chunks in conv1 and conv2.
  auto checks = thaw::gpu_test::all_checks(8);
  // The models' batch too: cuDNN plans per batch size.
  for (auto& check : thaw::gpu_test::layer_checks(2, false, true)) checks.push_back(std::move(check));
#if THAW_CUDNN_ON_DEVICE  // the convolutions above ran through cuDNN: check thaw's own kernels too
  for (auto& check : thaw::gpu_test::layer_checks(8, true, true)) checks.push_back(std::move(check));
#endif
  // Models: batch 2, 10 Adam steps, every case; the checkpoint trip for the first two.
  for (auto& check : thaw::gpu_test::model_checks(thaw::gpu_test::make_model_inputs(2, 10, 31), 2))
    checks.push_back(std::move(check));
  for (auto& check : thaw::gpu_test::graph_checks()) checks.push_back(std::move(check));
  // The Trainer: with the prefix cache (mid-level) and without one (fine-tuning trains conv1).
  for (auto& check : thaw::gpu_test::trainer_checks<thaw::paper::MidLevelFE, thaw::paper::FineTuning>(37))
    checks.push_back(std::move(check));
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("skipped %zu GPU tests: no CUDA device (%s)\n", checks.size(),
                status != cudaSuccess ? cudaGetErrorString(status) : "none found");
    return 77;
  }
  cudaDeviceProp prop{};
  thaw::cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  return thaw::gpu_test::run_checks(checks, argc > 1 ? argv[1] : "");
}
