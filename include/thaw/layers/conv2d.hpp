// thaw/layers/conv2d.hpp — 2-D convolution with bias, described at compile time.
// Hyperparameters and the training mode are template arguments; kernels live in backend/.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "thaw/core/shape.hpp"
#include "thaw/core/tags.hpp"

namespace thaw {

// Conv2d<in, out, kernel, stride, padding, Mode>: square kernel, PyTorch's weight layout
// [out, in, kernel, kernel] and a bias of [out].
template <std::size_t InChannels, std::size_t OutChannels, std::size_t Kernel, std::size_t Stride,
          std::size_t Padding, class M>
struct Conv2d {
  static_assert(is_mode_v<M>,
                "thaw::Conv2d: the last template argument must be thaw::Frozen or thaw::Trainable");
  static_assert(InChannels > 0 && OutChannels > 0, "thaw::Conv2d: channel counts must be positive");
  static_assert(Kernel > 0, "thaw::Conv2d: the kernel size must be positive");
  static_assert(Stride > 0, "thaw::Conv2d: the stride must be positive");
  static_assert(Padding < Kernel, "thaw::Conv2d: padding must be smaller than the kernel");

  using mode = M;
  static constexpr std::size_t in_channels = InChannels, out_channels = OutChannels;
  static constexpr std::size_t kernel = Kernel, stride = Stride, padding = Padding;
  static constexpr bool has_parameters = true;
  static constexpr std::array<std::size_t, 4> weight_shape{OutChannels, InChannels, Kernel, Kernel};
  static constexpr std::size_t weight_size = OutChannels * InChannels * Kernel * Kernel;
  static constexpr std::size_t bias_size = OutChannels;
  static constexpr std::size_t parameter_count = weight_size + bias_size;
  // Fan-in of one output unit: sets PyTorch's default initialisation bound.
  static constexpr std::size_t fan_in = InChannels * Kernel * Kernel;

  // The input this layer accepts, given what it receives: its channel count, and at least a
  // kernel's extent once padded. A difference from `in` is a shape mismatch.
  static constexpr Shape expected_input(Shape in) {
    const std::size_t min_extent = Kernel > 2 * Padding ? Kernel - 2 * Padding : 1;
    return {InChannels, in.h < min_extent ? min_extent : in.h, in.w < min_extent ? min_extent : in.w};
  }
  static constexpr Shape output_shape(Shape in) {
    return {OutChannels, (in.h + 2 * Padding - Kernel) / Stride + 1,
            (in.w + 2 * Padding - Kernel) / Stride + 1};
  }
  // Multiply-adds count two FLOPs; the bias adds one per output.
  static constexpr std::size_t forward_flops(Shape in) {
    return output_shape(in).size() * (2 * fan_in + 1);
  }
  // Data gradient (transposed convolution) and weight gradient each cost one product.
  static constexpr std::size_t backward_data_flops(Shape in) { return 2 * output_shape(in).size() * fan_in; }
  static constexpr std::size_t backward_weight_flops(Shape in) {
    return output_shape(in).size() * (2 * fan_in + 1);
  }
  // The weight gradient needs this layer's input.
  static constexpr std::size_t kept_bytes(Shape in, bool weight_grad) {
    return weight_grad ? in.size() * sizeof(float) : 0;
  }

  static std::string name() {
    return "Conv2d(" + std::to_string(InChannels) + "->" + std::to_string(OutChannels) + ", k" +
           std::to_string(Kernel) + ", s" + std::to_string(Stride) + ", p" + std::to_string(Padding) + ")";
  }
};

}  // namespace thaw
