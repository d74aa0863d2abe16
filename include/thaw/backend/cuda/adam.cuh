// thaw/backend/cuda/adam.cuh — one Adam update of a device tensor: thaw::train::Adam's
// arithmetic (core/adam_update.hpp's element function) on every element. The host computes the
// step's scalars in double, as the CPU optimizer does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/kernels.cuh"
#include "thaw/backend/cuda/memory.cuh"
#include "thaw/core/adam_update.hpp"
#include "thaw/train/adam.hpp"

namespace thaw::cuda {

// The per-step constants of Adam's update, and those of update number `step`.
using thaw::AdamScalars;
using train::adam_scalars;

// `replay` (device memory; null outside CUDA Graphs) replaces `scalars` in a captured step,
// which each replay's step count changes.
struct AdamUpdate {
  AdamScalars scalars;
  const AdamScalars* replay;
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  THAW_HOST_DEVICE void operator()(int i) const {
    adam_update_element(replay ? *replay : scalars, param, grad, exp_avg, exp_avg_sq, std::size_t(i));
  }
};

// The optimizer state of one tensor on the device.
struct AdamMoments {
  thrust::device_vector<float> exp_avg, exp_avg_sq;
  explicit AdamMoments(std::size_t size) : exp_avg(size, 0.0f), exp_avg_sq(size, 0.0f) {}
};

// Updates the n parameters (device) from their gradient (device) and moments. Asynchronous.
inline void adam_update(Context& ctx, const AdamScalars& scalars, float* param, const float* grad,
                        AdamMoments& moments, std::size_t n, const AdamScalars* replay = nullptr) {
  if (moments.exp_avg.size() != n || moments.exp_avg_sq.size() != n)
    throw std::invalid_argument("thaw::cuda::adam_update: the moments hold " + std::to_string(moments.exp_avg.size()) +
                                " values for a tensor of " + std::to_string(n));
  launch(ctx.exec(), n,
         AdamUpdate{scalars, replay, param, grad, thrust::raw_pointer_cast(moments.exp_avg.data()),
                    thrust::raw_pointer_cast(moments.exp_avg_sq.data())},
         "Adam update");
}

// thaw::train::Adam's moments on the device, one AdamMoments per trainable tensor, for
// Model<Net, Cuda>: made from (and read back into) the optimizer's host moments.
struct ResidentAdamMoments final : train::Adam::ResidentMoments {
  std::vector<AdamMoments> tensors;
  thrust::device_vector<AdamScalars> replay_scalars = thrust::device_vector<AdamScalars>(1);  // CUDA Graphs

  ResidentAdamMoments(const std::vector<std::vector<float>>& exp_avg, const std::vector<std::vector<float>>& exp_avg_sq) {
    for (const auto& m : exp_avg) tensors.emplace_back(m.size());
    upload(exp_avg, exp_avg_sq);
  }
  void upload(const std::vector<std::vector<float>>& exp_avg,
              const std::vector<std::vector<float>>& exp_avg_sq) override {
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      thrust::copy(exp_avg[t].begin(), exp_avg[t].end(), tensors[t].exp_avg.begin());
      thrust::copy(exp_avg_sq[t].begin(), exp_avg_sq[t].end(), tensors[t].exp_avg_sq.begin());
    }
  }
  void download(std::vector<std::vector<float>>& exp_avg, std::vector<std::vector<float>>& exp_avg_sq) override {
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      thrust::copy(tensors[t].exp_avg.begin(), tensors[t].exp_avg.end(), exp_avg[t].begin());
      thrust::copy(tensors[t].exp_avg_sq.begin(), tensors[t].exp_avg_sq.end(), exp_avg_sq[t].begin());
    }
  }
};

// thaw::train::Adam::step's update of trainable tensor number `tensor` of a Model<Net, Cuda>
// (found there by argument-dependent lookup): the optimizer's current step, on the device.
inline void adam_step_resident(train::Adam& adam, std::size_t tensor, DeviceSpan<float> params,
                               DeviceSpan<const float> grads) {
  auto& moments = adam.resident_moments<ResidentAdamMoments>();
  Context& ctx = *params.context;
  adam_update(ctx, adam_scalars(adam.options(), adam.steps()), params.data(), grads.data(), moments.tensors.at(tensor),
              params.size(), ctx.capturing ? thrust::raw_pointer_cast(moments.replay_scalars.data()) : nullptr);
}

}  // namespace thaw::cuda
