// thaw/backend/cpu/cpu.hpp — the Cpu backend policy: Eigen maps over host buffers, GEMMs in
// OpenBLAS, loops in OpenMP. Model<Net, Cpu> picks its layer implementations from here.
#pragma once

#include "thaw/backend/cpu/adam_update.hpp"
#include "thaw/backend/cpu/layers.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/core/host_memory.hpp"

namespace thaw {

// Its memory is the host's: Model's memory hooks are HostMemory's.
struct Cpu : HostMemory {
  template <class L, Shape In, bool Fused>
  using layer = cpu::Layer<L, In, Fused>;
  using context = cpu::Context;
  static constexpr const char* name = "cpu";
  // thaw::train::Adam's update of one tensor (its plain loop is scalar and single-threaded).
  static void adam_update(const AdamScalars& s, std::span<float> params, std::span<const float> grads, float* exp_avg,
                          float* exp_avg_sq) {
    cpu::adam_update(s, params, grads, exp_avg, exp_avg_sq);
  }
};

}  // namespace thaw
