// thaw/layers/adaptive_avgpool2d.hpp — average pooling to a fixed output size, as PyTorch's
// AdaptiveAvgPool2d: bin i covers [floor(i*In/Out), ceil((i+1)*In/Out)).
#pragma once

#include <cstddef>
#include <string>

#include "thaw/core/shape.hpp"

namespace thaw {

template <std::size_t OutH, std::size_t OutW = OutH>
struct AdaptiveAvgPool2d {
  static_assert(OutH > 0 && OutW > 0, "thaw::AdaptiveAvgPool2d: the output size must be positive");

  static constexpr std::size_t out_h = OutH, out_w = OutW;
  static constexpr bool has_parameters = false;
  static constexpr std::size_t parameter_count = 0;

  static constexpr Shape expected_input(Shape in) { return in; }
  static constexpr Shape output_shape(Shape in) { return {in.c, OutH, OutW}; }
  // At 224x224 input AlexNet's 6x6 pool is an identity; backends then skip it.
  static constexpr bool is_identity(Shape in) { return in.h == OutH && in.w == OutW; }
  static constexpr std::size_t forward_flops(Shape in) { return is_identity(in) ? 0 : in.size(); }
  static constexpr std::size_t backward_data_flops(Shape in) { return is_identity(in) ? 0 : in.size(); }
  static constexpr std::size_t kept_bytes(Shape, bool) { return 0; }

  static std::string name() {
    return "AdaptiveAvgPool2d(" + std::to_string(OutH) + ", " + std::to_string(OutW) + ")";
  }
};

}  // namespace thaw
