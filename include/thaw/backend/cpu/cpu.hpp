// thaw/backend/cpu/cpu.hpp — the Cpu backend policy: Eigen maps over host buffers, GEMMs in
// OpenBLAS, loops in OpenMP. Model<Net, Cpu> picks its layer implementations from here.
#pragma once

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
};

}  // namespace thaw
