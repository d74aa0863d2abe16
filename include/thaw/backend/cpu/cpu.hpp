// thaw/backend/cpu/cpu.hpp — the Cpu backend policy: Eigen maps over host buffers, GEMMs in
// OpenBLAS, loops in OpenMP. Model<Net, Cpu> picks its layer implementations from here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "thaw/backend/cpu/layers.hpp"
#include "thaw/backend/cpu/parallel.hpp"

namespace thaw {

struct Cpu {
  template <class L, Shape In, bool Fused>
  using layer = cpu::Layer<L, In, Fused>;
  using context = cpu::Context;
  static constexpr const char* name = "cpu";

  // Where Model keeps data: the memory hooks every backend policy provides (thaw::Cuda's are
  // in backend/cuda/cuda.cuh). The CPU backend's memory is the host's, so a host pointer is
  // used as it is and the copies are plain copies.
  static constexpr bool host_memory = true;
  using buffer = std::vector<float>;
  static float* ensure(buffer& b, std::size_t n) { return cpu::ensure(b, n); }
  // A layer's parameter or gradient vector as the optimizer and the copies see it.
  static std::span<float> view(context&, std::vector<float>& v) { return v; }
  static std::span<const float> view(const context&, const std::vector<float>& v) { return v; }
  // n host floats as the input of a pass: `staging` is for backends that must copy.
  static const float* stage(buffer&, const float* host, std::size_t) { return host; }
  // Host -> backend memory, and backend memory -> host once the pending work is done.
  static void upload(const float* host, std::size_t n, float* dst) { std::copy_n(host, n, dst); }
  static void download(const context&, const float* src, std::size_t n, float* host) { std::copy_n(src, n, host); }
  static void seed_dropout(context& ctx, std::uint64_t seed) { ctx.dropout_rng.seed(seed); }
};

}  // namespace thaw
