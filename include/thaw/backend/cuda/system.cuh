// thaw/backend/cuda/system.cuh — where the CUDA backend's code runs. Under nvcc, Thrust's
// device system is CUDA and the layers run on the GPU through cuBLAS. Built by g++ with
// -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP, the same functors, layers, loss and Adam run
// on the host (GEMMs in a reference with cuBLAS's argument conventions): that is how machines
// without a GPU (CI) check the backend's logic against the CPU layers.
#pragma once

#include <stdexcept>
#include <string>

#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>

#include "thaw/config.hpp"  // THAW_HOST_DEVICE: the functors run in Thrust algorithms on either system

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#define THAW_CUDA_ON_DEVICE 1
#include <cublas_v2.h>
#include <cuda_runtime.h>
#else
#define THAW_CUDA_ON_DEVICE 0
#endif
// cuDNN's convolutions (cudnn.cuh): on the GPU, where the build links cuDNN.
#if THAW_CUDA_ON_DEVICE && defined(THAW_CUDNN)
#define THAW_CUDNN_ON_DEVICE 1
#include <cudnn.h>
#else
#define THAW_CUDNN_ON_DEVICE 0
#endif

namespace thaw::cuda {

#if THAW_CUDA_ON_DEVICE
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("thaw::cuda: ") + what + " failed: " + cudaGetErrorString(status));
}
inline void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("thaw::cuda: ") + what + " failed: cuBLAS status " +
                             std::to_string(int(status)) + " (" + cublasGetStatusString(status) + ")");
}
#endif
#if THAW_CUDNN_ON_DEVICE
inline void check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw std::runtime_error(std::string("thaw::cuda: ") + what + " failed: " + cudnnGetErrorString(status));
}
#endif

// Sizes as kernels index them: 32-bit, checked once on the host.
inline int checked_int(std::size_t n, const char* what) {
  if (n > std::size_t(0x7fffffff))
    throw std::length_error(std::string("thaw::cuda: ") + what + " has " + std::to_string(n) +
                            " elements, more than 32-bit indexing allows; use a smaller batch");
  return int(n);
}

}  // namespace thaw::cuda
