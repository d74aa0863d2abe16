// thaw/backend/cpu/skinny_gemm.hpp — the linear layers' products at training batch sizes, where
// one side is the batch (tens of rows) and the other a weight matrix read once per pass
// (AlexNet's fc6: 151 MB). OpenBLAS packs the weight into its panel layout first, a shuffle of
// every weight per pass: fc6's forward took 15-19 ms at batch 32 where reading its weight takes
// 4 and its multiply-adds 7. Here the weight is read where it lies and only the batch side, a
// few MB at most, is copied.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "thaw/backend/cpu/gemm.hpp"
#include "thaw/backend/cpu/parallel.hpp"
#include "thaw/backend/cpu/simd.hpp"
#include "thaw/core/host_memory.hpp"

namespace thaw::cpu {

namespace skinny {

// Beyond this many batch rows OpenBLAS's packing pays for itself and the copied batch side no
// longer fits the caches the blocks below are sized for: the forward pass still won at 64 rows
// (fc6 21 -> 15 ms), the gradients lost from there on (input gradient 22.6 -> 23.3 ms).
inline constexpr std::size_t max_batch = 64, max_gradient_batch = 32;

#if defined(THAW_SIMD)
using namespace simd;

// A tile of c: `Rows` rows by two vectors of columns, one broadcast a value times a row of b per
// step (12 x 2 accumulators of 32 zmm registers, 6 x 2 of 16 ymm).
inline constexpr std::size_t tile_cols = 2 * lanes, tile_rows = registers == 32 ? 12 : 6;
// The gradients' tiles read b along columns, rows 36 KiB apart in fc6: with AVX-512 they still
// beat OpenBLAS at batch 32 (fc6 input gradient 17 -> 14 ms, weight gradient 17 -> 9), with AVX2's
// smaller tiles they did not (29 against 18 ms, 24 against 23).
inline constexpr bool gradients_win = registers == 32;

// c[0, Rows) x [0, tile_cols) (+)= a(r, i) b[i, :] over i < k, where a(r, i) = a[r * a_row + i * a_col].
template <std::size_t Rows>
void tile(const float* a, std::size_t a_row, std::size_t a_col, const float* b, std::size_t ldb, std::size_t k,
          float* c, std::size_t ldc, bool add) {
  Vec acc[Rows][2];
  for (std::size_t r = 0; r < Rows; ++r)
    for (std::size_t v = 0; v < 2; ++v) acc[r][v] = add ? load(c + r * ldc + v * lanes) : zero();
  for (std::size_t i = 0; i < k; ++i) {
    const Vec b0 = load(b + i * ldb), b1 = load(b + i * ldb + lanes);
    for (std::size_t r = 0; r < Rows; ++r) {
      const Vec p = broadcast(a[r * a_row + i * a_col]);
      acc[r][0] = multiply_add(p, b0, acc[r][0]);
      acc[r][1] = multiply_add(p, b1, acc[r][1]);
    }
  }
  for (std::size_t r = 0; r < Rows; ++r)
    for (std::size_t v = 0; v < 2; ++v) store(c + r * ldc + v * lanes, acc[r][v]);
}

// Sizes of the blocks the threads take and of the slices of k each block is walked in.
struct Blocking {
  std::size_t rows, cols, slice;
};

// c[m, n] = a(m, k) b[k, n] with n a multiple of tile_cols. Within a block, each slice of b
// (slice x block cols) stays in cache while every tile of rows uses it.
inline void product(const float* a, std::size_t a_row, std::size_t a_col, const float* b, float* c, std::size_t m,
                    std::size_t k, std::size_t n, Blocking block) {
  const std::size_t row_blocks = (m + block.rows - 1) / block.rows, col_blocks = (n + block.cols - 1) / block.cols;
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t job = 0; job < std::ptrdiff_t(row_blocks * col_blocks); ++job) {
    const std::size_t r0 = std::size_t(job) / col_blocks * block.rows, r_end = std::min(m, r0 + block.rows);
    const std::size_t c0 = std::size_t(job) % col_blocks * block.cols, c_end = std::min(n, c0 + block.cols);
    for (std::size_t k0 = 0; k0 < k; k0 += block.slice) {
      const std::size_t kc = std::min(block.slice, k - k0);
      for (std::size_t r = r0; r < r_end; r += tile_rows)
        with_tile_size<tile_rows>(std::min(tile_rows, r_end - r), [&]<std::size_t Rows>() {
          for (std::size_t col = c0; col < c_end; col += tile_cols)
            tile<Rows>(a + r * a_row + k0 * a_col, a_row, a_col, b + k0 * n + col, n, kc, c + r * n + col, n, k0 > 0);
        });
    }
  }
}
#endif

}  // namespace skinny

// y[m, n] = x[m, k] * w[n, k]^T, a linear layer's forward pass, computed as y^T = w x^T: the
// tiles broadcast weights along their rows and multiply rows of x^T, copied with the batch padded
// by zeros to whole tiles (fc6 at batch 32, 2 threads: 15 -> 7 ms). A single row stays a
// matrix-vector product.
inline void skinny_gemm_bt(const float* x, const float* w, float* y, std::size_t m, std::size_t k, std::size_t n,
                           std::vector<float>& packing) {
#if defined(THAW_SIMD)
  using namespace skinny;
  if (m >= 2 && m <= max_batch && k > 0) {
    const std::size_t cols = (m + tile_cols - 1) / tile_cols * tile_cols;
    float* xt = ensure(packing, (k + n) * cols);
    float* yt = xt + k * cols;
    std::fill_n(xt, k * cols, 0.0f);
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t i = 0; i < k; ++i) xt[i * cols + r] = x[r * k + i];
    product(w, k, 1, xt, yt, n, k, cols, {48, cols, 256});
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t j = 0; j < n; ++j) y[r * n + j] = yt[j * cols + r];
    return;
  }
#endif
  (void)packing;
  gemm_bt(x, w, y, m, k, n);
}

// c[m, n] = op(a) * b[k, n] where a is [m, k], or [k, m] when TransA: a linear layer's input
// gradient (a = dz, m = batch) and weight gradient (a = dz^T, k = batch). a is read as [k, m], so
// a tile's broadcasts are adjacent; dz is copied so.
template <bool TransA>
void skinny_gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n,
                 std::vector<float>& packing) {
#if defined(THAW_SIMD)
  using namespace skinny;
  if (gradients_win && std::min(m, k) <= max_gradient_batch && k > 0 && n % tile_cols == 0) {
    const float* at = a;
    if constexpr (!TransA) {
      float* packed = ensure(packing, m * k);
      for (std::size_t r = 0; r < m; ++r)
        for (std::size_t i = 0; i < k; ++i) packed[i * m + r] = a[r * k + i];
      at = packed;
    }
    product(at, 1, m, b, c, m, k, n, {m, 256, 128});
    return;
  }
#endif
  (void)packing;
  gemm_t<TransA, false>(a, b, c, m, k, n);
}

}  // namespace thaw::cpu
