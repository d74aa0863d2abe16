// thaw/backend/cuda/cuda.cuh — the Cuda backend policy: cuBLAS GEMMs, thaw's own kernels for
// im2col/col2im, epilogues and pooling, Thrust for device memory and element-wise work.
// Model<Net, Cuda> picks its layer implementations from here. Needs nvcc.
#pragma once

#include "thaw/backend/cuda/adam.cuh"
#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/layers.cuh"
#include "thaw/backend/cuda/loss.cuh"

namespace thaw {

struct Cuda {
  template <class L, Shape In, bool Fused>
  using layer = cuda::Layer<L, In, Fused>;
  using context = cuda::Context;
  static constexpr const char* name = "cuda";
};

}  // namespace thaw
