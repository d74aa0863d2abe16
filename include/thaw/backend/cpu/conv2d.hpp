// thaw/backend/cpu/conv2d.hpp — convolution forward as im2col over a chunk of images, one
// GEMM per chunk, and one fused pass that adds the bias, applies ReLU and restores NCHW.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "thaw/backend/cpu/gemm.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/core/shape.hpp"

namespace thaw::cpu {

// Geometry of one convolution, all in elements.
struct ConvGeometry {
  Shape in, out;
  std::size_t kernel, stride, padding;
  std::size_t rows() const { return in.c * kernel * kernel; }       // im2col rows
  std::size_t plane() const { return out.h * out.w; }               // outputs per channel
};

// Column matrix of `count` images: row (c, ky, kx), column (image, oy, ox); zeros for padding.
inline void im2col(const ConvGeometry& g, const float* x, std::size_t count, float* columns) {
  const std::size_t rows = g.rows(), plane = g.plane(), k = g.kernel, kk = k * k;
  const std::size_t in_plane = g.in.h * g.in.w, image = g.in.size();
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
    const std::size_t c = std::size_t(r) / kk, ky = std::size_t(r) / k % k, kx = std::size_t(r) % k;
    float* dst = columns + std::size_t(r) * count * plane;
    for (std::size_t n = 0; n < count; ++n) {
      const float* src = x + n * image + c * in_plane;
      for (std::size_t oy = 0; oy < g.out.h; ++oy) {
        const std::ptrdiff_t iy = std::ptrdiff_t(oy * g.stride + ky) - std::ptrdiff_t(g.padding);
        if (iy < 0 || iy >= std::ptrdiff_t(g.in.h)) {
          std::fill_n(dst, g.out.w, 0.0f);
          dst += g.out.w;
          continue;
        }
        const float* row = src + std::size_t(iy) * g.in.w;
        for (std::size_t ox = 0; ox < g.out.w; ++ox) {
          const std::ptrdiff_t ix = std::ptrdiff_t(ox * g.stride + kx) - std::ptrdiff_t(g.padding);
          *dst++ = (ix < 0 || ix >= std::ptrdiff_t(g.in.w)) ? 0.0f : row[ix];
        }
      }
    }
  }
}

// y[n, o, :] = act(products[o, n, :] + bias[o]) for the chunk's images.
inline void bias_activation_to_nchw(const float* products, const float* bias, std::size_t out_channels,
                                    std::size_t count, std::size_t plane, bool relu, float* y) {
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(out_channels * count); ++job) {
    const std::size_t o = std::size_t(job) / count, n = std::size_t(job) % count;
    const float* src = products + (o * count + n) * plane;
    float* dst = y + (n * out_channels + o) * plane;
    const float b = bias[o];
    if (relu)
      for (std::size_t i = 0; i < plane; ++i) dst[i] = std::max(src[i] + b, 0.0f);
    else
      for (std::size_t i = 0; i < plane; ++i) dst[i] = src[i] + b;
  }
}

// Reusable buffers for conv2d_forward: grown on demand, never shrunk, so steady-state calls
// allocate nothing.
struct ConvScratch {
  std::vector<float> columns, products;
  // Images per GEMM: enough columns to keep the BLAS efficient, few enough to bound memory.
  static constexpr std::size_t column_budget_floats = std::size_t{8} << 20;
};

inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* weight,
                           const float* bias, bool relu, float* y, ConvScratch& scratch) {
  const std::size_t rows = g.rows(), plane = g.plane(), oc = g.out.c;
  const std::size_t chunk =
      std::clamp<std::size_t>(ConvScratch::column_budget_floats / (rows * plane), 1, batch);
  if (scratch.columns.size() < rows * plane * chunk) scratch.columns.resize(rows * plane * chunk);
  if (scratch.products.size() < oc * plane * chunk) scratch.products.resize(oc * plane * chunk);
  for (std::size_t n0 = 0; n0 < batch; n0 += chunk) {
    const std::size_t count = std::min(chunk, batch - n0);
    im2col(g, x + n0 * g.in.size(), count, scratch.columns.data());
    gemm(weight, scratch.columns.data(), scratch.products.data(), oc, rows, count * plane);
    bias_activation_to_nchw(scratch.products.data(), bias, oc, count, plane, relu, y + n0 * g.out.size());
  }
}

}  // namespace thaw::cpu
