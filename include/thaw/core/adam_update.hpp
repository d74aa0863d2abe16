// thaw/core/adam_update.hpp — the arithmetic of one torch.optim.Adam update on host memory
// (bias-corrected moments, eps added after the square root, L2 weight decay added to the
// gradient, not AdamW), shared by thaw::train::Adam's plain loop and the Cpu backend's vector
// loop (backend/cpu/adam_update.hpp), which uses it for the elements past its last full vector.
#pragma once

#include <cmath>
#include <cstddef>

namespace thaw {

// The constants of one update, worked out once per step (in double, then rounded).
struct AdamScalars {
  float beta1, beta2;
  float step_size;              // lr / (1 - beta1^step)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float eps, weight_decay;
};

// Elements [begin, end) of one tensor: its parameters, gradient and the two moments.
inline void adam_update(const AdamScalars& s, float* params, const float* grads, float* exp_avg, float* exp_avg_sq,
                        std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const float g = s.weight_decay != 0 ? grads[i] + s.weight_decay * params[i] : grads[i];
    exp_avg[i] = exp_avg[i] * s.beta1 + g * (1 - s.beta1);
    exp_avg_sq[i] = exp_avg_sq[i] * s.beta2 + (1 - s.beta2) * g * g;
    const float denom = std::sqrt(exp_avg_sq[i]) / s.bias_correction2_sqrt + s.eps;
    params[i] += -s.step_size * exp_avg[i] / denom;
  }
}

}  // namespace thaw
