// thaw/core/adam_update.hpp — the arithmetic of one torch.optim.Adam update (bias-corrected
// moments, eps added after the square root, L2 weight decay added to the gradient, not AdamW),
// element by element: thaw::train::Adam's plain loop, the Cpu backend's vector loop
// (backend/cpu/adam_update.hpp) for the elements past its last full vector, and the Cuda
// backend's functor (backend/cuda/adam.cuh) all run adam_update_element.
#pragma once

#include <cmath>
#include <cstddef>

#include "thaw/config.hpp"  // THAW_HOST_DEVICE: device code too under nvcc

namespace thaw {

// The constants of one update, worked out once per step (in double, then rounded).
struct AdamScalars {
  float beta1, beta2;
  float step_size;              // lr / (1 - beta1^step)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float eps, weight_decay;
};

// Element i of one tensor: its parameter, gradient and the two moments.
THAW_HOST_DEVICE inline void adam_update_element(const AdamScalars& s, float* params, const float* grads,
                                                 float* exp_avg, float* exp_avg_sq, std::size_t i) {
  const float g = s.weight_decay != 0 ? grads[i] + s.weight_decay * params[i] : grads[i];
  const float m = exp_avg[i] * s.beta1 + g * (1 - s.beta1);
  const float v = exp_avg_sq[i] * s.beta2 + (1 - s.beta2) * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  const float denom = sqrtf(v) / s.bias_correction2_sqrt + s.eps;
  params[i] += -s.step_size * m / denom;
}

// Elements [begin, end).
inline void adam_update(const AdamScalars& s, float* params, const float* grads, float* exp_avg, float* exp_avg_sq,
                        std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) adam_update_element(s, params, grads, exp_avg, exp_avg_sq, i);
}

}  // namespace thaw
