// thaw/backend/cpu/cpu.hpp — the Cpu backend policy: Eigen maps over host buffers, GEMMs in
// OpenBLAS, loops in OpenMP. Model<Net, Cpu> picks its layer implementations from here.
#pragma once

#include "thaw/backend/cpu/layers.hpp"
#include "thaw/backend/cpu/parallel.hpp"

namespace thaw {

struct Cpu {
  template <class L, Shape In, bool Fused>
  using layer = cpu::Layer<L, In, Fused>;
  using context = cpu::Context;
  static constexpr const char* name = "cpu";
};

}  // namespace thaw
