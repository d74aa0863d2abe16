// thaw/backend/cpu/linear.hpp — fully connected forward: one product for the batch, then bias
// and an optional ReLU in the same pass; and its backward. The products are skinny_gemm.hpp's;
// `packing` holds the copy of the batch side they make.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "thaw/backend/cpu/elementwise.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/backend/cpu/skinny_gemm.hpp"

namespace thaw::cpu {

inline void linear_forward(const float* x, std::size_t batch, std::size_t in_features,
                           std::size_t out_features, const float* weight, const float* bias, bool relu,
                           float* y, std::vector<float>& packing) {
  skinny_gemm_bt(x, weight, y, batch, in_features, out_features, packing);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t n = 0; n < std::ptrdiff_t(batch); ++n) {
    float* row = y + std::size_t(n) * out_features;
    if (relu)
      for (std::size_t o = 0; o < out_features; ++o) row[o] = std::max(row[o] + bias[o], 0.0f);
    else
      for (std::size_t o = 0; o < out_features; ++o) row[o] += bias[o];
  }
}

// Backward of y = act(x W^T + b) for the batch. `dz` receives the gradient before the
// activation ([batch, out]) and may be dy itself; dweight/dbias/dx are written (not accumulated)
// when non-null.
inline void linear_backward(const float* x, const float* y, const float* dy, std::size_t batch,
                            std::size_t in_features, std::size_t out_features, const float* weight, bool relu,
                            float* dz, float* dweight, float* dbias, float* dx, std::vector<float>& packing) {
  const std::size_t total = batch * out_features;
  if (relu) relu_gradient(y, dy, total, dz);
  else if (dz != dy) std::copy_n(dy, total, dz);
  if (dbias) {
    std::fill_n(dbias, out_features, 0.0f);
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t o = 0; o < out_features; ++o) dbias[o] += dz[n * out_features + o];
  }
  if (dweight) skinny_gemm<true>(dz, x, dweight, out_features, batch, in_features, packing);
  if (dx) skinny_gemm<false>(dz, weight, dx, batch, out_features, in_features, packing);
}

}  // namespace thaw::cpu
