// thaw/layers/relu.hpp — rectified linear unit, max(x, 0).
// Backends fuse it into a preceding Conv2d or Linear, so it usually costs no memory pass.
#pragma once

#include <cstddef>
#include <string>

#include "thaw/core/shape.hpp"

namespace thaw {

struct ReLU {
  static constexpr bool has_parameters = false;
  static constexpr std::size_t parameter_count = 0;
  static constexpr Shape expected_input(Shape in) { return in; }
  static constexpr Shape output_shape(Shape in) { return in; }
  static constexpr std::size_t forward_flops(Shape in) { return in.size(); }
  static constexpr std::size_t backward_data_flops(Shape in) { return in.size(); }
  // Backward masks by the sign of the output it produced.
  static constexpr std::size_t kept_bytes(Shape in, bool) { return in.size() * sizeof(float); }
  static std::string name() { return "ReLU"; }
};

}  // namespace thaw
