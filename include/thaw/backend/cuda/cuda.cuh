// thaw/backend/cuda/cuda.cuh — the Cuda backend policy: cuBLAS GEMMs, thaw's own kernels for
// im2col/col2im, epilogues and pooling, Thrust for device memory and element-wise work.
// Model<Net, Cuda> picks its layer implementations from here. Needs nvcc (or g++ with
// -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP, which runs all of it on the host: see
// system.cuh). Include it beside <thaw/thaw.hpp> in .cu files: thaw::Model<Net, thaw::Cuda> then
// has Model<Net, thaw::Cpu>'s public calls, on host tensors, and thaw::train::Adam steps it on
// the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "thaw/backend/cuda/adam.cuh"
#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/graph.cuh"
#include "thaw/backend/cuda/layers.cuh"
#include "thaw/backend/cuda/loss.cuh"
#include "thaw/backend/cuda/memory.cuh"

namespace thaw {

struct Cuda {
  template <class L, Shape In, bool Fused>
  using layer = cuda::Layer<L, In, Fused>;
  using context = cuda::Context;
  static constexpr const char* name = "cuda";

  // Model's memory hooks (see thaw::Cpu): the layers' buffers are device memory.
  static constexpr bool host_memory = false;
  using buffer = thrust::device_vector<float>;
  static float* ensure(buffer& b, std::size_t n) { return cuda::ensure(b, n); }
  template <class T>
  static auto view(context& ctx, thrust::device_vector<T>& v) { return cuda::view(ctx, v); }
  template <class T>
  static auto view(const context& ctx, const thrust::device_vector<T>& v) { return cuda::view(ctx, v); }
  static const float* stage(buffer& staging, const float* host, std::size_t n) { return cuda::stage(staging, host, n); }
  static void upload(const float* host, std::size_t n, float* dst) { cuda::upload(host, n, dst); }
  static void download(const context& ctx, const float* src, std::size_t n, float* host) {
    cuda::download(ctx, src, n, host);
  }
  // Dropout masks hash (seed, counter): a new seed restarts the counter.
  static void seed_dropout(context& ctx, std::uint64_t seed) {
    ctx.dropout_seed = seed;
    ctx.dropout_counter = 0;
  }
  // The generator's state for checkpoints: its seed and counter (see thaw::HostMemory).
  static std::string dropout_state(const context& ctx) {
    return "cuda-dropout " + std::to_string(ctx.dropout_seed) + " " + std::to_string(ctx.dropout_counter);
  }
  static bool set_dropout_state(context& ctx, const std::string& text) {
    std::istringstream in(text);
    std::string tag;
    std::uint64_t seed = 0, counter = 0;
    if (!(in >> tag >> seed >> counter) || tag != "cuda-dropout") return false;
    ctx.dropout_seed = seed;
    ctx.dropout_counter = counter;
    return true;
  }
  // The loss on the device; the value comes back to the host (one small synchronous copy).
  static double bce_with_logits(context& ctx, const float* z, const float* labels, std::size_t n, float* dz) {
    return cuda::bce_with_logits(ctx, z, labels, n, dz);
  }
};

}  // namespace thaw
