// thaw/backend/cpu/winograd.hpp — stride-1 convolutions that keep the map's size, 3x3 (AlexNet
// conv3-5) and 5x5 (conv2), as Winograd minimal filtering F(2x2, r x r) (Lavin & Gray 2016):
// forward, data and weight gradient.
//
// Why: im2col + GEMM does r*r multiply-adds per output and input channel; F(2x2, r x r) computes
// a 2x2 output tile from an alpha x alpha input tile (alpha = r + 1) with alpha^2 element-wise
// products: 4 per output instead of 9 for r = 3, 9 instead of 25 for r = 5. The transforms
// around them are a few additions (winograd_transforms.hpp; winograd_tiles.hpp applies them to
// maps and filters). The products of all tiles are alpha^2 GEMMs, one per tile position xi:
// M_xi[out_c x P] = U_xi[out_c x in_c] * V_xi[in_c x P] with P = images x tiles (a 13x13 map is
// 7x7 tiles of 2x2 outputs, the last row and column of tiles half outside), so OpenBLAS still
// does the heavy work.
//
//   U = G g G^T (filter)   V = B^T d B (input tile d at rows 2ty - r/2.., cols 2tx - r/2..)
//   y = A^T (U . V) A (2x2)     dU = (A dy A^T) . V   dg = G^T dU G   (weight gradient)
// The data gradient is the same convolution of the output gradient with the kernel rotated by
// 180 degrees and its channels transposed. Selection per layer and pass: core/conv_algorithm.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <vector>

#include "thaw/backend/cpu/conv2d.hpp"
#include "thaw/backend/cpu/gemm.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/backend/cpu/winograd_tiles.hpp"
#include "thaw/backend/cpu/winograd_transforms.hpp"

namespace thaw::cpu {

// Reusable buffers, grown on demand and never shrunk: filters U (or dU), tiles V and products M
// (one slice per thread), the data gradient's filters and each thread's share of the weight
// gradient.
struct WinogradScratch {
  std::vector<float> filters, tiles, products, grad_filters, partial_grads;
  // Images per chunk: one thread's V and M within this many floats (a share of the L3 cache).
  static constexpr std::size_t budget_floats = std::size_t{1} << 20;
};

namespace winograd {

// Chunks of images for the threads, one thread's V and M of a chunk within the budget, and
// where each thread's V and M (or dM) lie in the scratch.
template <class T>
struct ChunkBuffers {
  BatchChunks chunks;
  std::size_t v_size, m_size;
  float *v_all, *m_all;
  ChunkBuffers(const Tiling& t, std::size_t in_c, std::size_t out_c, std::size_t batch, WinogradScratch& scratch)
      : chunks(batch, positions<T> * (in_c + out_c) * t.count(), WinogradScratch::budget_floats),
        v_size(positions<T> * block_stride(in_c, t.count() * chunks.images)),
        m_size(positions<T> * block_stride(out_c, t.count() * chunks.images)),
        v_all(ensure(scratch.tiles, chunks.workers * v_size)),
        m_all(ensure(scratch.products, chunks.workers * m_size)) {}
  float* v(std::size_t worker) const { return v_all + worker * v_size; }
  float* m(std::size_t worker) const { return m_all + worker * m_size; }
};

// y = act(conv(x, filters) + bias) with U already transformed (positions blocks of out_c x in_c).
template <class T>
void convolve(const Tiling& t, const float* x, std::size_t batch, std::size_t in_c, std::size_t out_c,
              const float* u, const float* bias, bool relu, float* y, WinogradScratch& scratch) {
  const std::size_t tiles = t.count(), plane = t.h * t.w;
  const ChunkBuffers<T> buffers(t, in_c, out_c, batch, scratch);
  const BatchChunks& c = buffers.chunks;
  for_each_chunk(c, [&](std::size_t k, std::size_t worker) {
    const std::size_t n0 = c.first(k), p = c.size(k) * tiles;
    float* v = buffers.v(worker);
    float* m = buffers.m(worker);
    transform_input<T>(t, x + n0 * in_c * plane, c.size(k), in_c, v);
    // With one chunk at a time (batch 1) the threads share the GEMMs rather than each GEMM
    // (a few dozen columns); inside for_each_chunk's threads this loop runs on its own thread.
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t xi = 0; xi < std::ptrdiff_t(positions<T>); ++xi)
      gemm(u + std::size_t(xi) * block_stride(out_c, in_c), v + std::size_t(xi) * block_stride(in_c, p),
           m + std::size_t(xi) * block_stride(out_c, p), out_c, in_c, p);
    transform_output<T>(t, m, c.size(k), out_c, bias, relu, y + n0 * out_c * plane);
  });
}

}  // namespace winograd

// The transformed filters of a frozen layer: its weights change only when new ones are loaded,
// so U (and the data gradient's rotated U) are made again only when the weights differ from the
// copy they were made from (a comparison costs a tenth of a transform, which was 4% of a step).
class WinogradFilterCache {
 public:
  template <class T>
  const float* filters(const ConvGeometry& g, const float* weight, bool rotate) {
    const std::size_t n = g.out.c * g.in.c * T::kernel * T::kernel;
    if (weights_.size() != n || std::memcmp(weights_.data(), weight, n * sizeof(float)) != 0) {
      weights_.assign(weight, weight + n);
      made_ = {false, false};
    }
    if (!made_[rotate]) {
      transformed<T>(g, weight, rotate, u_[rotate]);
      made_[rotate] = true;
    }
    return u_[rotate].data();
  }

  // U (rotated for the data gradient) of `weight` made into `u`.
  template <class T>
  static const float* transformed(const ConvGeometry& g, const float* weight, bool rotate, std::vector<float>& u) {
    float* dst = ensure(u, winograd::positions<T> * winograd::block_stride(g.out.c, g.in.c));
    winograd::transform_filters<T>(weight, g.out.c, g.in.c, rotate, dst);
    return dst;
  }

 private:
  std::vector<float> weights_;           // what the filters were made from
  std::array<std::vector<float>, 2> u_;  // U, and the data gradient's rotated U
  std::array<bool, 2> made_{};
};

// U (rotated for the data gradient) from the cache where the layer has one, else transformed
// afresh into `buffer`.
template <class T>
const float* winograd_filters(const ConvGeometry& g, const float* weight, bool rotate, WinogradFilterCache* cache,
                              std::vector<float>& buffer) {
  return cache ? cache->filters<T>(g, weight, rotate) : WinogradFilterCache::transformed<T>(g, weight, rotate, buffer);
}

// Forward of y = act(conv(x, W) + b) for a k x k kernel (k = 3 or 5) at stride 1, padding k / 2;
// same contract as conv2d_forward. With a cache (frozen layers) the transformed filters come from it.
template <class T>
void winograd_conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* weight,
                             const float* bias, bool relu, float* y, WinogradScratch& scratch,
                             WinogradFilterCache* cache = nullptr) {
  const winograd::Tiling t(g.out.h, g.out.w);
  const float* u = winograd_filters<T>(g, weight, false, cache, scratch.filters);
  winograd::convolve<T>(t, x, batch, g.in.c, g.out.c, u, bias, relu, y, scratch);
}

// Data gradient of the convolution alone: dx = conv(dz, rotated W^T), written (not accumulated).
template <class T>
void winograd_conv2d_data_grad(const ConvGeometry& g, const float* dz, std::size_t batch, const float* weight,
                               float* dx, WinogradScratch& scratch, WinogradFilterCache* cache = nullptr) {
  const winograd::Tiling t(g.out.h, g.out.w);
  const float* u = winograd_filters<T>(g, weight, true, cache, scratch.grad_filters);
  winograd::convolve<T>(t, dz, batch, g.out.c, g.in.c, u, nullptr, false, dx, scratch);
}

// Weight gradient of the convolution alone: dweight = sum over images of dz (x) x, written.
// Each worker sums its chunks' dU (worker 0 in place, the others in partial_grads); the sums are
// added before G^T dU G.
template <class T>
void winograd_conv2d_weight_grad(const ConvGeometry& g, const float* x, const float* dz, std::size_t batch,
                                 float* dweight, WinogradScratch& scratch) {
  constexpr std::size_t positions = winograd::positions<T>;
  const winograd::Tiling t(g.out.h, g.out.w);
  const std::size_t tiles = t.count(), plane = t.h * t.w, in_c = g.in.c, out_c = g.out.c;
  const winograd::ChunkBuffers<T> buffers(t, in_c, out_c, batch, scratch);
  const BatchChunks& c = buffers.chunks;
  const std::size_t du_size = positions * winograd::block_stride(out_c, in_c);
  float* du = ensure(scratch.grad_filters, du_size);
  float* others = ensure(scratch.partial_grads, (c.workers - 1) * du_size);
  std::fill_n(du, du_size, 0.0f);
  std::fill_n(others, (c.workers - 1) * du_size, 0.0f);
  for_each_chunk(c, [&](std::size_t k, std::size_t worker) {
    const std::size_t n0 = c.first(k), p = c.size(k) * tiles;
    float* v = buffers.v(worker);
    float* dm = buffers.m(worker);
    winograd::transform_input<T>(t, x + n0 * in_c * plane, c.size(k), in_c, v);
    winograd::transform_output_grad<T>(t, dz + n0 * out_c * plane, c.size(k), out_c, dm);
    float* sum = worker == 0 ? du : others + (worker - 1) * du_size;
    for (std::size_t xi = 0; xi < positions; ++xi)
      gemm_t<false, true, true>(dm + xi * winograd::block_stride(out_c, p), v + xi * winograd::block_stride(in_c, p),
                                sum + xi * winograd::block_stride(out_c, in_c), out_c, p, in_c);
  });
  add_parts(others, c.workers - 1, du_size, du_size, du);
  winograd::filter_gradients<T>(du, out_c, in_c, dweight);
}

// Backward of y = act(conv(x, W) + b), same contract as conv2d_backward; each gradient runs
// Winograd or im2col + GEMM as the layer's type decided (core/conv_algorithm.hpp). With relu,
// `dz` receives the gradient through the activation (NCHW like dy) and may be dy itself, which is
// then overwritten.
template <class T, bool WinogradData, bool WinogradWeight>
void winograd_conv2d_backward(const ConvGeometry& g, const float* x, const float* y, const float* dy,
                              std::size_t batch, const float* weight, bool relu, float* dz, float* dweight,
                              float* dbias, float* dx, ConvScratch& columns, WinogradScratch& scratch,
                              WinogradFilterCache* cache = nullptr) {
  // The im2col passes derive their own dz; hand them only what Winograd does not do.
  if (!WinogradWeight || !WinogradData)
    conv2d_backward(g, x, y, dy, batch, weight, relu, WinogradWeight ? nullptr : dweight,
                    WinogradWeight ? nullptr : dbias, WinogradData ? nullptr : dx, columns);
  const bool weight_here = WinogradWeight && dweight, data_here = WinogradData && dx;
  if (!weight_here && !data_here && !(WinogradWeight && dbias)) return;
  const std::size_t oc = g.out.c, plane = g.plane();
  if (relu) {
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t p = 0; p < std::ptrdiff_t(batch * oc); ++p) {
      const std::size_t at = std::size_t(p) * plane;
      relu_gradient(y + at, dy + at, plane, dz + at);
    }
  }
  const float* through = relu ? dz : dy;  // the gradient through the activation
  if (WinogradWeight && dbias) {
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t o = 0; o < std::ptrdiff_t(oc); ++o) {
      float channel = 0.0f;
      for (std::size_t n = 0; n < batch; ++n) channel += sum(through + (n * oc + std::size_t(o)) * plane, plane);
      dbias[o] = channel;
    }
  }
  if (weight_here) winograd_conv2d_weight_grad<T>(g, x, through, batch, dweight, scratch);
  if (data_here) winograd_conv2d_data_grad<T>(g, through, batch, weight, dx, scratch, cache);
}

}  // namespace thaw::cpu
