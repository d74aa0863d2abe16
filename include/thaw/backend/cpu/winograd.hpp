// thaw/backend/cpu/winograd.hpp — stride-1 convolutions that keep the map's size, 3x3 (AlexNet
// conv3-5) and 5x5 (conv2), as Winograd minimal filtering F(2x2, r x r) (Lavin & Gray 2016):
// forward, data and weight gradient.
//
// Why: im2col + GEMM does r*r multiply-adds per output and input channel; F(2x2, r x r) computes
// a 2x2 output tile from an alpha x alpha input tile (alpha = r + 1) with alpha^2 element-wise
// products: 4 per output instead of 9 for r = 3, 9 instead of 25 for r = 5. The transforms
// around them are a few additions (winograd_transforms.hpp). The products of all tiles are
// alpha^2 GEMMs, one per tile position xi:  M_xi[out_c x P] = U_xi[out_c x in_c] * V_xi[in_c x P]
// with P = images x tiles (a 13x13 map is 7x7 tiles of 2x2 outputs, the last row and column of
// tiles half outside), so OpenBLAS still does the heavy work.
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
#include "thaw/backend/cpu/winograd_transforms.hpp"

namespace thaw::cpu {

// Reusable buffers, grown on demand and never shrunk: filters U (or dU), tiles V and products M
// (one slice per thread), the output gradient before the activation, the data gradient's
// filters and each thread's share of the weight gradient.
struct WinogradScratch {
  std::vector<float> filters, tiles, products, dz, grad_filters, partial_grads;
  // Images per chunk: one thread's V and M within this many floats (a share of the L3 cache).
  static constexpr std::size_t budget_floats = std::size_t{1} << 20;
};

namespace winograd {

// Tiling of a map whose output has the input's size (stride 1, padding kernel / 2) into tiles
// of 2x2 outputs; an odd side pads its last tile (13 -> 7 tiles).
struct Tiling {
  std::size_t h, w, rows, cols;  // map extent; tiles down and across
  constexpr Tiling(std::size_t height, std::size_t width)
      : h(height), w(width), rows((height + 1) / 2), cols((width + 1) / 2) {}
  constexpr std::size_t count() const { return rows * cols; }
};

// Floats from one tile position's block of V or M (channels x P), or of U (out_c x in_c), to the
// next. A tile's (or filter's) alpha^2 values go one to each block; with blocks a multiple of
// 4 KiB apart (conv4's U, 256 x 384, is) they all fall in one cache set and evict each other:
// the filter transform ran 7x slower, G^T dU G 1.6x. A cache line more spreads them over
// consecutive sets.
constexpr std::size_t block_stride(std::size_t channels, std::size_t p) { return channels * p + 16; }

// Copies n <= 16 floats as two overlapping fixed-size runs of 8 or 4: a copy of variable length
// compiled to `rep movs`, whose start-up cost made it 60% of the input transform.
inline void copy_run(const float* src, std::size_t n, float* dst) {
  if (n >= 8) {
    std::memcpy(dst, src, 8 * sizeof(float));
    std::memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
  } else if (n >= 4) {
    std::memcpy(dst, src, 4 * sizeof(float));
    std::memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
  } else {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// V[xi][c][tile] (tile_stride apart per position xi) for one channel plane `x`, zero outside the
// map. A strip of up to `strip` tiles of one tile row at a time: its alpha input rows
// (zero-padded) get B^T down the columns, then B across each tile's alpha columns, then each
// position's run of consecutive tiles is copied out. Both passes run over a whole strip whatever
// the map's width, so their loops have fixed trip counts and vectorise fully (AlexNet's 7 and 14
// tiles per row left them to scalar remainder loops: 10% of a fine-tuning step); a strip of 8
// serves maps of up to 8 tiles across without computing 16.
template <class T, std::size_t strip>
void transform_input_plane(const Tiling& t, const float* x, float* v, std::size_t tile_stride) {
  constexpr std::size_t a = T::alpha, pad = T::kernel / 2, width = 2 * strip + a - 2;
  for (std::size_t ty = 0; ty < t.rows; ++ty)
    for (std::size_t tx0 = 0; tx0 < t.cols; tx0 += strip) {
      const std::size_t tiles = std::min(strip, t.cols - tx0);
      // Input columns x0 - pad .. x0 + width - 1 - pad of the strip; [lo, hi) of them lie in the map.
      const std::size_t x0 = 2 * tx0, lo = x0 >= pad ? 0 : pad - x0;
      const std::size_t hi = std::min(width, t.w + pad - x0);
      float d[a][width], c[a][width], out[a * a][strip];
      for (std::size_t r = 0; r < a; ++r) {
        const std::size_t yy = 2 * ty + r;  // input row yy - pad
        std::fill_n(d[r], width, 0.0f);
        if (yy >= pad && yy < t.h + pad)
          std::copy(x + (yy - pad) * t.w + x0 + lo - pad, x + (yy - pad) * t.w + x0 + hi - pad, d[r] + lo);
      }
      for (std::size_t j = 0; j < width; ++j) {  // B^T d: rows combine
        Line<a> column;
        for (std::size_t r = 0; r < a; ++r) column[r] = d[r][j];
        const Line<a> rows = T::input(column);
        for (std::size_t r = 0; r < a; ++r) c[r][j] = rows[r];
      }
      for (std::size_t k = 0; k < a; ++k) {  // (B^T d) B: columns combine, per tile
        // Tile i starts at column 2i: its columns from the even and odd ones, each read with unit
        // stride (overlapping stride-2 reads do not vectorise).
        float even[width / 2], odd[width / 2];
        for (std::size_t h = 0; h < width / 2; ++h) even[h] = c[k][2 * h], odd[h] = c[k][2 * h + 1];
        for (std::size_t i = 0; i < strip; ++i) {
          Line<a> row;
          for (std::size_t l = 0; l < a; ++l) row[l] = l % 2 == 0 ? even[i + l / 2] : odd[i + l / 2];
          const Line<a> cols = T::input(row);
          for (std::size_t l = 0; l < a; ++l) out[k * a + l][i] = cols[l];
        }
      }
      float* dst = v + ty * t.cols + tx0;
      for (std::size_t xi = 0; xi < a * a; ++xi) copy_run(out[xi], tiles, dst + xi * tile_stride);
    }
}

// V for `count` images of `channels` planes: V[xi * block_stride + c * P + n * tiles + tile].
template <class T>
void transform_input(const Tiling& t, const float* x, std::size_t count, std::size_t channels, float* v) {
  const std::size_t plane = t.h * t.w, tiles = t.count(), p = count * tiles;
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(count * channels); ++job) {
    const std::size_t n = std::size_t(job) / channels, c = std::size_t(job) % channels;
    float* planes = v + c * p + n * tiles;
    const float* in = x + (n * channels + c) * plane;
    if (t.cols <= 8) transform_input_plane<T, 8>(t, in, planes, block_stride(channels, p));
    else transform_input_plane<T, 16>(t, in, planes, block_stride(channels, p));
  }
}

// y[n][o] = act(A^T M A + bias[o]) for `count` images, writing only outputs inside the map.
template <class T>
void transform_output(const Tiling& t, const float* m, std::size_t count, std::size_t channels, const float* bias,
                      bool relu, float* y) {
  constexpr std::size_t a = T::alpha;
  const std::size_t plane = t.h * t.w, tiles = t.count(), p = count * tiles, stride = block_stride(channels, p);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(count * channels); ++job) {
    const std::size_t n = std::size_t(job) / channels, o = std::size_t(job) % channels;
    const float* src = m + o * p + n * tiles;
    float* dst = y + (n * channels + o) * plane;
    const float b = bias ? bias[o] : 0.0f;
    for (std::size_t ty = 0; ty < t.rows; ++ty)
      for (std::size_t tx = 0; tx < t.cols; ++tx) {
        const float* s = src + ty * t.cols + tx;
        Line<a> q[2];  // A^T m: 2 rows of alpha
        for (std::size_t c = 0; c < a; ++c) {
          Line<a> column;
          for (std::size_t r = 0; r < a; ++r) column[r] = s[(r * a + c) * stride];
          const Line<2> out = T::output(column);
          q[0][c] = out[0], q[1][c] = out[1];
        }
        const std::size_t oy = 2 * ty, ox = 2 * tx;
        for (std::size_t r = 0; r < 2 && oy + r < t.h; ++r) {
          const Line<2> out = T::output(q[r]);
          for (std::size_t c = 0; c < 2 && ox + c < t.w; ++c) {
            const float value = out[c] + b;
            dst[(oy + r) * t.w + ox + c] = relu ? std::max(value, 0.0f) : value;
          }
        }
      }
  }
}

// (A dy A^T) of each 2x2 output-gradient tile (zero past the map): Y[xi * block_stride + o * P + ...].
template <class T>
void transform_output_grad(const Tiling& t, const float* dy, std::size_t count, std::size_t channels, float* out) {
  constexpr std::size_t a = T::alpha;
  const std::size_t plane = t.h * t.w, tiles = t.count(), p = count * tiles, stride = block_stride(channels, p);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(count * channels); ++job) {
    const std::size_t n = std::size_t(job) / channels, o = std::size_t(job) % channels;
    const float* src = dy + (n * channels + o) * plane;
    float* dst = out + o * p + n * tiles;
    for (std::size_t ty = 0; ty < t.rows; ++ty)
      for (std::size_t tx = 0; tx < t.cols; ++tx) {
        const std::size_t oy = 2 * ty, ox = 2 * tx;
        const bool down = oy + 1 < t.h, right = ox + 1 < t.w;
        const float* at = src + oy * t.w + ox;
        // Rows first, then columns.
        const Line<a> top = T::output_grad({at[0], right ? at[1] : 0.0f});
        const Line<a> bottom = T::output_grad({down ? at[t.w] : 0.0f, down && right ? at[t.w + 1] : 0.0f});
        float* tile = dst + ty * t.cols + tx;
        for (std::size_t col = 0; col < a; ++col) {
          const Line<a> column = T::output_grad({top[col], bottom[col]});
          for (std::size_t row = 0; row < a; ++row) tile[(row * a + col) * stride] = column[row];
        }
      }
  }
}

// U = G g G^T for each filter into U[xi * block_stride + r * cols + c]. With `rotate` the filter of
// (r, c) is g[c][r] turned by 180 degrees: the data gradient's kernel. g is [out][in][k][k].
// The jobs run in U's order, so the threads write runs of consecutive floats in every position
// (in g's order the rotated U was written one cache line per value: 3% of a fine-tuning step).
template <class T>
void transform_filters(const float* weight, std::size_t out_c, std::size_t in_c, bool rotate, float* u) {
  constexpr std::size_t k = T::kernel, a = T::alpha;
  const std::size_t cols = rotate ? out_c : in_c, stride = block_stride(out_c, in_c);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(out_c * in_c); ++job) {
    const std::size_t r = std::size_t(job) / cols, c = std::size_t(job) % cols;
    const float* g = weight + (rotate ? c * in_c + r : std::size_t(job)) * k * k;
    Line<a> h[k];  // G g, transposed: h[x] is G applied to column x
    for (std::size_t x = 0; x < k; ++x) {
      Line<k> column;
      for (std::size_t y = 0; y < k; ++y) column[y] = rotate ? g[k * k - 1 - (y * k + x)] : g[y * k + x];
      h[x] = T::filter(column);
    }
    float* dst = u + std::size_t(job);
    for (std::size_t y = 0; y < a; ++y) {
      Line<k> row;
      for (std::size_t x = 0; x < k; ++x) row[x] = h[x][y];
      const Line<a> out = T::filter(row);
      for (std::size_t x = 0; x < a; ++x) dst[(y * a + x) * stride] = out[x];
    }
  }
}

// dg = G^T dU G for each filter: dU[xi * block_stride + o * in_c + i] -> dweight[o][i][k][k].
template <class T>
void filter_gradients(const float* du, std::size_t out_c, std::size_t in_c, float* dweight) {
  constexpr std::size_t k = T::kernel, a = T::alpha;
  const std::size_t stride = block_stride(out_c, in_c);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(out_c * in_c); ++job) {
    Line<k> h[a];  // G^T dU, transposed: h[c] is G^T applied to column c
    for (std::size_t c = 0; c < a; ++c) {
      Line<a> column;
      for (std::size_t r = 0; r < a; ++r) column[r] = du[(r * a + c) * stride + std::size_t(job)];
      h[c] = T::filter_grad(column);
    }
    float* g = dweight + std::size_t(job) * k * k;
    for (std::size_t r = 0; r < k; ++r) {
      Line<a> row;
      for (std::size_t c = 0; c < a; ++c) row[c] = h[c][r];
      const Line<k> out = T::filter_grad(row);
      for (std::size_t c = 0; c < k; ++c) g[r * k + c] = out[c];
    }
  }
}

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
// Winograd or im2col + GEMM as the layer's type decided (core/conv_algorithm.hpp).
template <class T, bool WinogradData, bool WinogradWeight>
void winograd_conv2d_backward(const ConvGeometry& g, const float* x, const float* y, const float* dy,
                              std::size_t batch, const float* weight, bool relu, float* dweight, float* dbias,
                              float* dx, ConvScratch& columns, WinogradScratch& scratch,
                              WinogradFilterCache* cache = nullptr) {
  // The im2col passes derive their own dz; hand them only what Winograd does not do.
  if (!WinogradWeight || !WinogradData)
    conv2d_backward(g, x, y, dy, batch, weight, relu, WinogradWeight ? nullptr : dweight,
                    WinogradWeight ? nullptr : dbias, WinogradData ? nullptr : dx, columns);
  const bool weight_here = WinogradWeight && dweight, data_here = WinogradData && dx;
  if (!weight_here && !data_here && !(WinogradWeight && dbias)) return;
  // dz = dy through the activation, NCHW like dy.
  const std::size_t oc = g.out.c, plane = g.plane(), total = batch * oc * plane;
  const float* dz = dy;
  if (relu) {
    float* masked = ensure(scratch.dz, total);
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t p = 0; p < std::ptrdiff_t(batch * oc); ++p) {
      const std::size_t at = std::size_t(p) * plane;
      relu_gradient(y + at, dy + at, plane, masked + at);
    }
    dz = masked;
  }
  if (WinogradWeight && dbias) {
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t o = 0; o < std::ptrdiff_t(oc); ++o) {
      float channel = 0.0f;
      for (std::size_t n = 0; n < batch; ++n) channel += sum(dz + (n * oc + std::size_t(o)) * plane, plane);
      dbias[o] = channel;
    }
  }
  if (weight_here) winograd_conv2d_weight_grad<T>(g, x, dz, batch, dweight, scratch);
  if (data_here) winograd_conv2d_data_grad<T>(g, dz, batch, weight, dx, scratch, cache);
}

}  // namespace thaw::cpu
