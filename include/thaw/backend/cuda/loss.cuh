// thaw/backend/cuda/loss.cuh — binary cross-entropy on logits on the device, as
// thaw::train::bce_with_logits (mean reduction, stable form, double accumulation). The mean is
// summed by one thread in index order: n is a batch of logits, so this costs microseconds,
// matches the CPU's summation order, and needs no host round trip (a CUDA Graph can hold it).
#pragma once

#include <cmath>
#include <cstddef>

#include <thrust/copy.h>

#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/kernels.cuh"
#include "thaw/backend/cuda/memory.cuh"

namespace thaw::cuda {

// dz[i] = (sigmoid(z[i]) - y[i]) / n, the gradient of the mean loss.
struct BceGradient {
  const float* z;
  const float* y;
  int n;
  float* dz;
  THAW_HOST_DEVICE void operator()(int i) const {
    const double zi = z[i];
    const double sigmoid = zi >= 0 ? 1.0 / (1.0 + exp(-zi)) : exp(zi) / (1.0 + exp(zi));
    dz[i] = float((sigmoid - double(y[i])) / double(n));
  }
};

// loss[0] = mean of max(z, 0) - z*y + log(1 + exp(-|z|)).
struct BceMean {
  const float* z;
  const float* y;
  int n;
  double* loss;
  THAW_HOST_DEVICE void operator()(int) const {
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      const double zi = z[i], yi = y[i];
      sum += (zi > 0 ? zi : 0.0) - zi * yi + log1p(exp(-fabs(zi)));
    }
    *loss = sum / double(n);
  }
};

// Mean loss of the n logits z (device) against targets y (device, 0 or 1) into *loss (device),
// and dL/dz into dz (device). Asynchronous on the context's stream.
inline void bce_with_logits(Context& ctx, const float* z, const float* y, std::size_t n, float* dz, double* loss) {
  const int count = checked_int(n, "the loss's logits");
  launch(ctx.exec(), n, BceGradient{z, y, count, dz}, "loss gradient");
  launch(ctx.exec(), 1, BceMean{z, y, count, loss}, "loss");
}

// The same into ctx.loss, returning it to the host (waits for the stream) except while a CUDA
// Graph is captured: then it returns 0 and the loss stays in ctx.loss.
inline double bce_with_logits(Context& ctx, const float* z, const float* y, std::size_t n, float* dz) {
  double* loss = ensure(ctx.loss, 1);
  bce_with_logits(ctx, z, y, n, dz, loss);
  if (ctx.capturing) return 0;
  double value = 0;
  download(ctx, loss, 1, &value);
  return value;
}

}  // namespace thaw::cuda
