// thaw/core/conv_algorithm.hpp — which algorithm the CPU backend runs for each pass of a
// convolution, decided by the layer's type, and the FLOPs that algorithm really does. Pure
// constexpr arithmetic on the type, in core so cost_v can report it (core includes no backend).
#pragma once

#include <cstddef>

#include "thaw/core/shape.hpp"

namespace thaw::cpu {

// Winograd F(2x2, 3x3) (Lavin & Gray 2016) needs a 3x3 kernel at stride 1; with padding 1 the
// map keeps its size, so one tiling serves the forward pass and both gradients.
constexpr bool winograd_applies(std::size_t kernel, std::size_t stride, std::size_t padding) {
  return kernel == 3 && stride == 1 && padding == 1;
}

template <class L>
constexpr bool winograd_layer() {
  if constexpr (requires { L::kernel; L::stride; L::padding; })
    return winograd_applies(L::kernel, L::stride, L::padding);
  else
    return false;
}

// Per pass, because each was measured against im2col + GEMM on its own: AlexNet conv3/4/5 at
// batch 32, 2 threads, OPENBLAS_CORETYPE=Haswell, best of 5, ms from im2col to Winograd:
// forward 75->55, 112->77, 70->50; data gradient 74->57, 113->78, 68->52; weight gradient
// 74->55, 100->85, 69->48. Every pass wins, so every pass of such a layer runs Winograd.
template <class L>
inline constexpr bool winograd_forward_v = winograd_layer<L>();
template <class L>
inline constexpr bool winograd_data_grad_v = winograd_layer<L>();
template <class L>
inline constexpr bool winograd_weight_grad_v = winograd_layer<L>();

// Tiles of 2x2 outputs covering one map; an odd side pads its last tile (13 -> 7 tiles).
constexpr std::size_t winograd_tiles(Shape out) { return ((out.h + 1) / 2) * ((out.w + 1) / 2); }

// FLOPs per image, a multiply-add counting 2 as in layers/conv2d.hpp. Per tile: the input
// transform B^T d B is 32 additions per input channel, the 16 element-wise products are 16
// batched GEMMs (16 multiply-adds per input-output channel pair), and the output transform
// A^T m A is 24 additions per output channel; the bias adds one per output. The filter
// transform runs once per batch, not per image, and is not counted.
constexpr std::size_t winograd_conv_flops(std::size_t in_channels, std::size_t out_channels, Shape out) {
  return winograd_tiles(out) * (32 * in_channels + 2 * 16 * out_channels * in_channels + 24 * out_channels);
}
constexpr std::size_t winograd_forward_flops(std::size_t in_channels, Shape out) {
  return winograd_conv_flops(in_channels, out.c, out) + out.size();
}
// The data gradient is the same convolution from the output gradient back to the input's
// channels (rotated, channel-transposed kernel), without a bias.
constexpr std::size_t winograd_data_grad_flops(std::size_t in_channels, Shape out) {
  return winograd_conv_flops(out.c, in_channels, out);
}
// The weight gradient transforms each 2x2 output-gradient tile (A dy A^T, 12 additions per
// output channel) and each input tile again (32 per input channel), then 16 batched GEMMs over
// the tiles; the bias gradient sums one value per output.
constexpr std::size_t winograd_weight_grad_flops(std::size_t in_channels, Shape out) {
  return winograd_tiles(out) * (12 * out.c + 32 * in_channels + 2 * 16 * out.c * in_channels) + out.size();
}

// What the CPU backend does for layer L on input `in`: its own count unless a pass runs Winograd.
template <class L>
constexpr std::size_t cpu_forward_flops(Shape in) {
  if constexpr (winograd_forward_v<L>) return winograd_forward_flops(in.c, L::output_shape(in));
  else return L::forward_flops(in);
}
template <class L>
constexpr std::size_t cpu_backward_data_flops(Shape in) {
  if constexpr (winograd_data_grad_v<L>) return winograd_data_grad_flops(in.c, L::output_shape(in));
  else return L::backward_data_flops(in);
}
template <class L>
constexpr std::size_t cpu_backward_weight_flops(Shape in) {
  if constexpr (winograd_weight_grad_v<L>) return winograd_weight_grad_flops(in.c, L::output_shape(in));
  else return L::backward_weight_flops(in);
}

}  // namespace thaw::cpu
