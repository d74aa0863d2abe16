// thaw/layers/maxpool2d.hpp — max pooling without padding, floor mode (as torchvision).
// Backends record the argmax ("switches"): backward and the deconvnet route through them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "thaw/core/shape.hpp"

namespace thaw {

template <std::size_t Kernel, std::size_t Stride = Kernel>
struct MaxPool2d {
  static_assert(Kernel > 0, "thaw::MaxPool2d: the kernel size must be positive");
  static_assert(Stride > 0, "thaw::MaxPool2d: the stride must be positive");

  static constexpr std::size_t kernel = Kernel, stride = Stride;
  static constexpr bool has_parameters = false;
  static constexpr std::size_t parameter_count = 0;

  // Any channel count; at least one full window in each direction.
  static constexpr Shape expected_input(Shape in) {
    return {in.c, in.h < Kernel ? Kernel : in.h, in.w < Kernel ? Kernel : in.w};
  }
  static constexpr Shape output_shape(Shape in) {
    return {in.c, (in.h - Kernel) / Stride + 1, (in.w - Kernel) / Stride + 1};
  }
  static constexpr std::size_t forward_flops(Shape in) { return output_shape(in).size() * Kernel * Kernel; }
  static constexpr std::size_t backward_data_flops(Shape in) { return output_shape(in).size(); }
  // One 32-bit switch per output.
  static constexpr std::size_t kept_bytes(Shape in, bool) { return output_shape(in).size() * sizeof(std::int32_t); }

  static std::string name() {
    return "MaxPool2d(k" + std::to_string(Kernel) + ", s" + std::to_string(Stride) + ")";
  }
};

}  // namespace thaw
