// thaw/backend/cpu/conv2d.hpp — convolution forward as im2col over a chunk of images, one
// GEMM per chunk, and one fused pass that adds the bias, applies ReLU and restores NCHW.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "thaw/backend/cpu/elementwise.hpp"
#include "thaw/backend/cpu/gemm.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/core/host_memory.hpp"
#include "thaw/core/shape.hpp"

namespace thaw::cpu {

// Geometry of one convolution, all in elements.
struct ConvGeometry {
  Shape in, out;
  std::size_t kernel, stride, padding;
  std::size_t rows() const { return in.c * kernel * kernel; }       // im2col rows
  std::size_t plane() const { return out.h * out.w; }               // outputs per channel
};

// Output columns [first, last) whose input column ox*stride + kx - padding lies inside the
// image; the rest read padding.
struct ValidRange {
  std::size_t first, last;
};
inline ValidRange valid_outputs(std::size_t k_offset, std::size_t padding, std::size_t stride,
                                std::size_t in_extent, std::size_t out_extent) {
  // ox*stride + k_offset >= padding  and  ox*stride + k_offset < padding + in_extent
  const std::size_t first =
      k_offset >= padding ? 0 : (padding - k_offset + stride - 1) / stride;
  const std::size_t end_bound = padding + in_extent > k_offset
                                    ? (padding + in_extent - k_offset + stride - 1) / stride
                                    : 0;
  const std::size_t last = std::min(out_extent, end_bound);
  return {std::min(first, last), last};
}

// Column matrix of `count` images: row (c, ky, kx), column (image, oy, ox); zeros for padding.
// Branch-free inner loops: padding is written as runs of zeros around a strided copy.
inline void im2col(const ConvGeometry& g, const float* x, std::size_t count, float* columns) {
  const std::size_t rows = g.rows(), plane = g.plane(), k = g.kernel, kk = k * k;
  const std::size_t in_plane = g.in.h * g.in.w, image = g.in.size(), s = g.stride;
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
    const std::size_t c = std::size_t(r) / kk, ky = std::size_t(r) / k % k, kx = std::size_t(r) % k;
    const ValidRange cols = valid_outputs(kx, g.padding, s, g.in.w, g.out.w);
    const ValidRange lines = valid_outputs(ky, g.padding, s, g.in.h, g.out.h);
    float* dst = columns + std::size_t(r) * count * plane;
    for (std::size_t n = 0; n < count; ++n, dst += plane) {
      const float* src = x + n * image + c * in_plane;
      std::fill_n(dst, lines.first * g.out.w, 0.0f);
      for (std::size_t oy = lines.first; oy < lines.last; ++oy) {
        float* out = dst + oy * g.out.w;
        std::fill_n(out, cols.first, 0.0f);
        std::fill_n(out + cols.last, g.out.w - cols.last, 0.0f);
        if (cols.first == cols.last) continue;
        // Input column of output column ox is ox*s + kx - padding (>= 0 inside `cols`).
        const float* in = src + (oy * s + ky - g.padding) * g.in.w + cols.first * s + kx - g.padding;
        if (s == 1) std::copy_n(in, cols.last - cols.first, out + cols.first);
        else
          for (std::size_t ox = cols.first; ox < cols.last; ++ox) out[ox] = in[(ox - cols.first) * s];
      }
      std::fill_n(dst + lines.last * g.out.w, (g.out.h - lines.last) * g.out.w, 0.0f);
    }
  }
}

// y[n, o, :] = act(products[o, n, :] + bias[o]) for the chunk's images; in place when count == 1.
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

// The reverse of im2col: adds each column entry back onto the input pixel it was copied from.
// Rows of one input channel touch only that channel, so channels run in parallel.
inline void col2im_add(const ConvGeometry& g, const float* columns, std::size_t count, float* dx) {
  const std::size_t plane = g.plane(), k = g.kernel, kk = k * k;
  const std::size_t in_plane = g.in.h * g.in.w, image = g.in.size(), s = g.stride;
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t c = 0; c < std::ptrdiff_t(g.in.c); ++c)
    for (std::size_t r = std::size_t(c) * kk; r < (std::size_t(c) + 1) * kk; ++r) {
      const std::size_t ky = r / k % k, kx = r % k;
      const ValidRange cols = valid_outputs(kx, g.padding, s, g.in.w, g.out.w);
      const ValidRange lines = valid_outputs(ky, g.padding, s, g.in.h, g.out.h);
      const float* src = columns + r * count * plane;
      for (std::size_t n = 0; n < count; ++n, src += plane) {
        float* dst = dx + n * image + std::size_t(c) * in_plane;
        for (std::size_t oy = lines.first; oy < lines.last; ++oy) {
          float* in = dst + (oy * s + ky - g.padding) * g.in.w + kx - g.padding;
          for (std::size_t ox = cols.first; ox < cols.last; ++ox) in[ox * s] += src[oy * g.out.w + ox];
        }
      }
    }
}

// Reusable buffers for the convolutions, one slice per thread (see BatchChunks): grown on demand,
// never shrunk, so steady-state calls allocate nothing.
struct ConvScratch {
  std::vector<float> columns, products, partial_grads, packed_filters;
  // Images per chunk: a thread's column matrix should stay in cache (measured on AlexNet at
  // batch 32: 4 MiB chunks beat 16-64 MiB ones by 10-25% on conv1/conv2).
  static constexpr std::size_t column_budget_floats = std::size_t{1} << 20;
};

inline BatchChunks chunks(const ConvGeometry& g, std::size_t batch) {
  return {batch, g.rows() * g.plane(), ConvScratch::column_budget_floats};
}

inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* weight,
                           const float* bias, bool relu, float* y, ConvScratch& scratch) {
  const std::size_t rows = g.rows(), plane = g.plane(), oc = g.out.c;
  const BatchChunks c = chunks(g, batch);
  const std::size_t columns_size = rows * plane * c.images, products_size = oc * plane * c.images;
  float* columns = ensure(scratch.columns, c.workers * columns_size);
  float* products = c.images > 1 ? ensure(scratch.products, c.workers * products_size) : nullptr;
  for_each_chunk(c, [&](std::size_t k, std::size_t worker) {
    const std::size_t count = c.size(k);
    float* dst = y + c.first(k) * g.out.size();
    float* cols = columns + worker * columns_size;
    // One image's products are already in NCHW order: write them in place.
    float* prod = count == 1 ? dst : products + worker * products_size;
    im2col(g, x + c.first(k) * g.in.size(), count, cols);
    gemm(weight, cols, prod, oc, rows, count * plane);
    bias_activation_to_nchw(prod, bias, oc, count, plane, relu, dst);
  });
}

// Backward of y = act(conv(x, W) + b), chunk by chunk as the forward pass. dweight/dbias/dx
// are written (not accumulated) when non-null; the columns are rebuilt from x rather than kept.
// Each thread sums its chunks' weight and bias gradients: worker 0 into dweight and dbias, the
// others into their slices of partial_grads, added at the end.
inline void conv2d_backward(const ConvGeometry& g, const float* x, const float* y, const float* dy,
                            std::size_t batch, const float* weight, bool relu, float* dweight, float* dbias,
                            float* dx, ConvScratch& scratch) {
  const std::size_t rows = g.rows(), plane = g.plane(), oc = g.out.c;
  const BatchChunks c = chunks(g, batch);
  const std::size_t columns_size = rows * plane * c.images, dz_size = oc * plane * c.images;
  const std::size_t dweight_size = dweight ? oc * rows : 0, grads_size = dweight_size + (dbias ? oc : 0);
  float* columns = ensure(scratch.columns, c.workers * columns_size);
  float* dzs = ensure(scratch.products, c.workers * dz_size);
  float* others = ensure(scratch.partial_grads, (c.workers - 1) * grads_size);
  std::fill_n(others, (c.workers - 1) * grads_size, 0.0f);
  if (dweight) std::fill_n(dweight, dweight_size, 0.0f);
  if (dbias) std::fill_n(dbias, oc, 0.0f);
  for_each_chunk(c, [&](std::size_t k, std::size_t worker) {
    const std::size_t n0 = c.first(k), count = c.size(k), cp = count * plane;
    float* cols = columns + worker * columns_size;
    float* dw = worker == 0 ? dweight : others + (worker - 1) * grads_size;
    float* db = worker == 0 ? dbias : others + (worker - 1) * grads_size + dweight_size;
    // dz[o, (n, p)]: the gradient before the activation, in the GEMMs' layout.
    float* dz = dzs + worker * dz_size;
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t o = 0; o < std::ptrdiff_t(oc); ++o)
      for (std::size_t n = 0; n < count; ++n) {
        const std::size_t at = ((n0 + n) * oc + std::size_t(o)) * plane;
        float* dst = dz + std::size_t(o) * cp + n * plane;
        if (relu) relu_gradient(y + at, dy + at, plane, dst);
        else std::copy_n(dy + at, plane, dst);
      }
    if (dbias)
      for (std::size_t o = 0; o < oc; ++o) db[o] += sum(dz + o * cp, cp);
    if (dweight) {
      im2col(g, x + n0 * g.in.size(), count, cols);
      gemm_t<false, true, true>(dz, cols, dw, oc, cp, rows);
    }
    if (dx) {
      float* d = dx + n0 * g.in.size();
      std::fill_n(d, count * g.in.size(), 0.0f);
      gemm_t<true, false>(weight, dz, cols, rows, oc, cp);
      col2im_add(g, cols, count, d);
    }
  });
  if (dweight) add_parts(others, c.workers - 1, grads_size, dweight_size, dweight);
  if (dbias) add_parts(others + dweight_size, c.workers - 1, grads_size, oc, dbias);
}

}  // namespace thaw::cpu
