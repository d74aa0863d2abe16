// thaw/backend/cpu/winograd_tiles.hpp — how winograd.hpp lays a batch out as Winograd tiles:
// the tiling of a map, the blocks of V, M and U (one per tile position), and the transforms
// between those blocks and NCHW maps or [out][in][k][k] filters, the threads sharing the planes
// or the filters (the line transforms themselves: winograd_transforms.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/backend/cpu/winograd_transforms.hpp"

namespace thaw::cpu::winograd {

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
  const std::size_t plane = t.h * t.w, tiles = t.count(), p = count * tiles, stride = block_stride(channels, p);
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(count * channels); ++job) {
    const std::size_t n = std::size_t(job) / channels, c = std::size_t(job) % channels;
    float* planes = v + c * p + n * tiles;
    const float* in = x + (n * channels + c) * plane;
    if (t.cols <= 8) transform_input_plane<T, 8>(t, in, planes, stride);
    else transform_input_plane<T, 16>(t, in, planes, stride);
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

}  // namespace thaw::cpu::winograd
