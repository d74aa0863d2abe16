// thaw/layers/flatten.hpp — reinterprets a CHW map as a flat vector; moves no data.
#pragma once

#include <cstddef>
#include <string>

#include "thaw/core/shape.hpp"

namespace thaw {

struct Flatten {
  static constexpr bool has_parameters = false;
  static constexpr std::size_t parameter_count = 0;
  static constexpr Shape expected_input(Shape in) { return in; }
  static constexpr Shape output_shape(Shape in) { return {in.size(), 1, 1}; }
  static constexpr std::size_t forward_flops(Shape) { return 0; }
  static constexpr std::size_t backward_data_flops(Shape) { return 0; }
  static constexpr std::size_t kept_bytes(Shape, bool) { return 0; }
  static std::string name() { return "Flatten"; }
};

}  // namespace thaw
