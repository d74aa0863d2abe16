// thaw/core/conv_algorithm.hpp — which algorithm the CPU backend runs for each pass of a
// convolution, decided by the layer's type, and the FLOPs that algorithm really does. Pure
// constexpr arithmetic on the type, in core so cost_v can report it (core includes no backend).
#pragma once

#include <cstddef>

#include "thaw/core/shape.hpp"

namespace thaw::cpu {

// Winograd F(2x2, r x r) (Lavin & Gray 2016) for a 3x3 or 5x5 kernel at stride 1 with padding
// r / 2: the map keeps its size, so one tiling serves the forward pass and both gradients.
constexpr bool winograd_applies(std::size_t kernel, std::size_t stride, std::size_t padding) {
  return (kernel == 3 || kernel == 5) && stride == 1 && padding == kernel / 2;
}

template <class L>
constexpr bool winograd_layer() {
  if constexpr (requires { L::kernel; L::stride; L::padding; })
    return winograd_applies(L::kernel, L::stride, L::padding);
  else
    return false;
}

// Per pass, because each was measured against im2col + GEMM on its own (batch 32, 2 threads,
// ms from im2col to Winograd). OpenBLAS's Haswell kernels, best of 5: AlexNet conv3/4/5
// forward 75->55, 112->77, 70->50; data gradient 74->57, 113->78, 68->52; weight gradient 74->55,
// 100->85, 69->48; conv2 (5x5), best of 7: forward 82->53, data 80->65, weight 82->54. Its
// AVX-512 kernels, best of 7: conv3/4/5 forward 25->19, 40->33, 24->20; data 24->22, 38->31,
// 23->20; weight 25->18, 39->27, 26->19; conv2 forward 43->29, data 43->39, weight 47->34.
// Every pass wins on both, so every pass of such a layer runs Winograd.
// F(4x4, 3x3) (36 products per 16 outputs; 1.36x fewer than F(2x2) on 13x13 maps) was tried for
// conv3-5 and not kept: its GEMMs have 16 columns per image, where OpenBLAS ran 103 GFLOP/s at 2
// images a chunk against F(2x2)'s 151, its filter transform costs 5x F(2x2)'s on every pass of a
// trainable layer, and at batch 1 conv3-5's passes ran 1.7-3.1x slower; at batch 32 it won
// 10-15% with Haswell kernels and up to 8% with AVX-512 ones, and only in chunks of 16 images
// (+33 MB of buffers).
template <class L>
inline constexpr bool winograd_forward_v = winograd_layer<L>();
template <class L>
inline constexpr bool winograd_data_grad_v = winograd_layer<L>();
template <class L>
inline constexpr bool winograd_weight_grad_v = winograd_layer<L>();

// A layer with few input channels and a stride (a network's first layer, on RGB or grey images)
// runs its forward pass directly (backend/cpu/direct_conv.hpp) where the build targets AVX2+FMA or
// AVX-512: its im2col matrix is k*k/(s*s) times the input (7.5x for AlexNet's conv1), and writing
// it and having OpenBLAS pack it took ~40% of the pass. AlexNet's conv1 forward at batch 32, 2
// threads, ms from im2col + GEMM to direct (bench_forward): built for AVX-512, 22-27 -> 16-17
// with OpenBLAS's AVX-512 kernels and 34 -> 18 with its Haswell ones; built for AVX2
// (-march=haswell), 38 -> 30. The gradients keep im2col + GEMM.
constexpr bool direct_applies(std::size_t in_channels, std::size_t stride) {
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))  // THAW_SIMD, backend/cpu/simd.hpp
  return in_channels <= 4 && stride > 1;
#else
  (void)in_channels, (void)stride;
  return false;
#endif
}
template <class L>
inline constexpr bool direct_forward_v = [] {
  if constexpr (requires { L::in_channels; L::stride; }) return direct_applies(L::in_channels, L::stride);
  else return false;
}();

// Tiles of 2x2 outputs covering one map; an odd side pads its last tile (13 -> 7 tiles).
constexpr std::size_t winograd_tiles(Shape out) { return ((out.h + 1) / 2) * ((out.w + 1) / 2); }

// Operations per tile and channel of F(2x2, r x r)'s transforms, counted from the line
// transforms of backend/cpu/winograd_transforms.hpp (alpha lines down, then alpha or 2 across):
// r = 3: B^T d B is 8 lines of 4 additions = 32, A^T m A 4*4 + 2*4 = 24, A dy A^T 2*2 + 4*2 = 12;
// r = 5: B^T d B 12 lines of 19 = 228, A^T m A (6 + 2) * 9 = 72, A dy A^T (2 + 6) * 5 = 40.
struct WinogradCounts {
  std::size_t alpha, input, output, output_grad;
  constexpr std::size_t products() const { return alpha * alpha; }
};
constexpr WinogradCounts winograd_counts(std::size_t kernel) {
  return kernel == 3 ? WinogradCounts{4, 32, 24, 12} : WinogradCounts{6, 228, 72, 40};
}

// FLOPs per image, a multiply-add counting 2 as in layers/conv2d.hpp. Per tile: the input
// transform per input channel, alpha^2 batched GEMMs (alpha^2 multiply-adds per input-output
// channel pair) and the output transform per output channel; the bias adds one per output. The
// filter transform runs once per batch, not per image, and is not counted.
constexpr std::size_t winograd_conv_flops(std::size_t kernel, std::size_t in_channels, std::size_t out_channels,
                                          Shape out) {
  const WinogradCounts n = winograd_counts(kernel);
  return winograd_tiles(out) *
         (n.input * in_channels + 2 * n.products() * out_channels * in_channels + n.output * out_channels);
}
constexpr std::size_t winograd_forward_flops(std::size_t kernel, std::size_t in_channels, Shape out) {
  return winograd_conv_flops(kernel, in_channels, out.c, out) + out.size();
}
// The data gradient is the same convolution from the output gradient back to the input's
// channels (rotated, channel-transposed kernel), without a bias.
constexpr std::size_t winograd_data_grad_flops(std::size_t kernel, std::size_t in_channels, Shape out) {
  return winograd_conv_flops(kernel, out.c, in_channels, out);
}
// The weight gradient transforms each 2x2 output-gradient tile (A dy A^T per output channel) and
// each input tile again, then alpha^2 batched GEMMs over the tiles; the bias gradient sums one
// value per output.
constexpr std::size_t winograd_weight_grad_flops(std::size_t kernel, std::size_t in_channels, Shape out) {
  const WinogradCounts n = winograd_counts(kernel);
  return winograd_tiles(out) *
             (n.output_grad * out.c + n.input * in_channels + 2 * n.products() * out.c * in_channels) +
         out.size();
}

// What the CPU backend does for layer L on input `in`: its own count unless a pass runs Winograd.
template <class L>
constexpr std::size_t cpu_forward_flops(Shape in) {
  if constexpr (winograd_forward_v<L>) return winograd_forward_flops(L::kernel, in.c, L::output_shape(in));
  else return L::forward_flops(in);
}
template <class L>
constexpr std::size_t cpu_backward_data_flops(Shape in) {
  if constexpr (winograd_data_grad_v<L>) return winograd_data_grad_flops(L::kernel, in.c, L::output_shape(in));
  else return L::backward_data_flops(in);
}
template <class L>
constexpr std::size_t cpu_backward_weight_flops(Shape in) {
  if constexpr (winograd_weight_grad_v<L>) return winograd_weight_grad_flops(L::kernel, in.c, L::output_shape(in));
  else return L::backward_weight_flops(in);
}

}  // namespace thaw::cpu
