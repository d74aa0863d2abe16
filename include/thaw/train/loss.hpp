// thaw/train/loss.hpp — binary cross-entropy on logits, as torch.nn.BCEWithLogitsLoss with
// mean reduction, in the numerically stable form max(z, 0) - z*y + log(1 + exp(-|z|)).
#pragma once

#include <cmath>
#include <cstddef>

namespace thaw::train {

// Mean loss over the n logits z against targets y (0 or 1); writes dL/dz into dz.
inline double bce_with_logits(const float* z, const float* y, std::size_t n, float* dz) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double zi = z[i], yi = y[i];
    sum += std::max(zi, 0.0) - zi * yi + std::log1p(std::exp(-std::abs(zi)));
    const double sigmoid = zi >= 0 ? 1.0 / (1.0 + std::exp(-zi)) : std::exp(zi) / (1.0 + std::exp(zi));
    dz[i] = float((sigmoid - yi) / double(n));
  }
  return sum / double(n);
}

}  // namespace thaw::train
