// thaw/backend/cpu/linear.hpp — fully connected forward: one GEMM for the batch, then bias
// and an optional ReLU in the same pass.
#pragma once

#include <algorithm>
#include <cstddef>

#include "thaw/backend/cpu/gemm.hpp"
#include "thaw/backend/cpu/parallel.hpp"

namespace thaw::cpu {

inline void linear_forward(const float* x, std::size_t batch, std::size_t in_features,
                           std::size_t out_features, const float* weight, const float* bias, bool relu,
                           float* y) {
  gemm_bt(x, weight, y, batch, in_features, out_features);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t n = 0; n < std::ptrdiff_t(batch); ++n) {
    float* row = y + std::size_t(n) * out_features;
    if (relu)
      for (std::size_t o = 0; o < out_features; ++o) row[o] = std::max(row[o] + bias[o], 0.0f);
    else
      for (std::size_t o = 0; o < out_features; ++o) row[o] += bias[o];
  }
}

}  // namespace thaw::cpu
