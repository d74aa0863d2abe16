// thaw/backend/cpu/direct_conv.hpp — convolution forward straight from the image, for a layer
// with few input channels and a stride (AlexNet's conv1: 3 channels, 11x11, stride 4). There
// im2col + GEMM spent ~40% of its time writing a column matrix 7.5x the input's size and having
// OpenBLAS pack it again. Here each output row copies the k input rows it reads into a
// zero-padded band, and a register tile of output channels x pixels accumulates one broadcast
// pixel times one vector of filter values per step.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "thaw/backend/cpu/conv2d.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/backend/cpu/simd.hpp"
#include "thaw/core/conv_algorithm.hpp"
#include "thaw/core/host_memory.hpp"

namespace thaw::cpu {

#if defined(THAW_SIMD)

namespace direct {

using namespace simd;
// A register tile of output channels x pixels that leaves room for the filter vectors and the
// broadcast pixel: 4 x 6 accumulators of 32 zmm registers, 2 x 6 of 16 ymm.
inline constexpr std::size_t vectors = registers == 32 ? 4 : 2;
inline constexpr std::size_t group = lanes * vectors, pixels = 6;  // output channels, pixels per tile

// Filters regrouped as [group][c, ky, kx][group's output channels], zero past the last channel.
inline void pack_filters(const float* weight, std::size_t out_channels, std::size_t rows, float* packed) {
  const std::size_t groups = (out_channels + group - 1) / group;
  for (std::size_t gi = 0; gi < groups; ++gi)
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t l = 0; l < group; ++l) {
        const std::size_t o = gi * group + l;
        packed[(gi * rows + r) * group + l] = o < out_channels ? weight[o * rows + r] : 0.0f;
      }
}

// The input rows output row oy reads, zero-padded: band[c][ky][column], column j holding input
// column j - padding.
inline void fill_band(const ConvGeometry& g, const float* image, std::size_t oy, std::size_t band_width,
                      float* band) {
  const std::size_t k = g.kernel;
  for (std::size_t c = 0; c < g.in.c; ++c)
    for (std::size_t ky = 0; ky < k; ++ky) {
      float* dst = band + (c * k + ky) * band_width;
      const std::size_t y = oy * g.stride + ky;  // padded row
      if (y < g.padding || y >= g.padding + g.in.h) {
        std::fill_n(dst, band_width, 0.0f);
        continue;
      }
      const std::size_t lead = std::min(g.padding, band_width), inside = std::min(g.in.w, band_width - lead);
      std::fill_n(dst, lead, 0.0f);
      std::copy_n(image + (c * g.in.h + y - g.padding) * g.in.w, inside, dst + lead);
      std::fill_n(dst + lead + inside, band_width - lead - inside, 0.0f);
    }
}

// out[j][group] = the group's filters applied at the Pixels output columns from `first`.
template <std::size_t Pixels>
void tile(const ConvGeometry& g, const float* band, std::size_t band_width, const float* filters,
          std::size_t first, float* out) {
  Vec acc[Pixels][vectors];
  for (auto& pixel : acc)
    for (Vec& a : pixel) a = zero();
  const std::size_t k = g.kernel, s = g.stride;
  for (std::size_t line = 0; line < g.in.c * k; ++line) {  // (c, ky)
    const float* x = band + line * band_width + first * s;
    for (std::size_t kx = 0; kx < k; ++kx, filters += group) {
      Vec w[vectors];
      for (std::size_t v = 0; v < vectors; ++v) w[v] = load(filters + v * lanes);
      for (std::size_t j = 0; j < Pixels; ++j) {
        const Vec p = broadcast(x[j * s + kx]);
        for (std::size_t v = 0; v < vectors; ++v) acc[j][v] = multiply_add(p, w[v], acc[j][v]);
      }
    }
  }
  for (std::size_t j = 0; j < Pixels; ++j)
    for (std::size_t v = 0; v < vectors; ++v) store(out + j * group + v * lanes, acc[j][v]);
}

}  // namespace direct

// y = act(conv(x, W) + b) for a batch, one job per (image, output row) spread over the threads.
inline void direct_conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* weight,
                                  const float* bias, bool relu, float* y, ConvScratch& scratch) {
  using direct::group;
  const std::size_t rows = g.rows(), groups = (g.out.c + group - 1) / group;
  const std::size_t band_width = (g.out.w - 1) * g.stride + g.kernel, band_size = g.in.c * g.kernel * band_width;
  const std::size_t out_row_size = g.out.w * group, per_thread = band_size + out_row_size;
  float* filters = ensure(scratch.packed_filters, groups * rows * group);
  direct::pack_filters(weight, g.out.c, rows, filters);
  float* buffers = ensure(scratch.columns, std::size_t(num_threads()) * per_thread);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(batch * g.out.h); ++job) {
    const std::size_t n = std::size_t(job) / g.out.h, oy = std::size_t(job) % g.out.h;
    float* band = buffers + thread_index() * per_thread;
    float* out_row = band + band_size;  // [ox][group]
    direct::fill_band(g, x + n * g.in.size(), oy, band_width, band);
    for (std::size_t gi = 0; gi < groups; ++gi) {
      const float* group_filters = filters + gi * rows * group;
      for (std::size_t ox = 0; ox < g.out.w; ox += direct::pixels) {
        const std::size_t count = std::min(direct::pixels, g.out.w - ox);
        simd::with_tile_size<direct::pixels>(count, [&]<std::size_t Pixels>() {
          direct::tile<Pixels>(g, band, band_width, group_filters, ox, out_row + ox * group);
        });
      }
      for (std::size_t l = 0; l < group && gi * group + l < g.out.c; ++l) {
        const std::size_t o = gi * group + l;
        float* dst = y + ((n * g.out.c + o) * g.out.h + oy) * g.out.w;
        for (std::size_t ox = 0; ox < g.out.w; ++ox) {
          const float v = out_row[ox * group + l] + bias[o];
          dst[ox] = relu ? std::max(v, 0.0f) : v;
        }
      }
    }
  }
}

#endif  // THAW_SIMD

}  // namespace thaw::cpu
