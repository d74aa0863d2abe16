// thaw/backend/cuda/blas.cuh — row-major matrix products over device buffers. cuBLAS is
// column-major: a row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the
// operands swap. Off the GPU, host_sgemm stands in for cublasSgemm with the same column-major
// arguments, so the translation below is checked by CI too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "thaw/backend/cuda/context.cuh"

namespace thaw::cuda {

// cublasSgemm's contract, column-major: C = alpha op(A) op(B) + beta C, op(A) m x k.
inline void host_sgemm(bool transa, bool transb, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc) {
  std::vector<float> column(std::size_t(m > 0 ? m : 0)), bj(std::size_t(k > 0 ? k : 0));
  for (int j = 0; j < n; ++j) {
    for (int l = 0; l < k; ++l) bj[l] = transb ? b[j + std::size_t(l) * ldb] : b[l + std::size_t(j) * ldb];
    if (transa) {  // op(A)'s rows are A's contiguous columns: dot products
      for (int i = 0; i < m; ++i) {
        const float* ai = a + std::size_t(i) * lda;
        float sum = 0.0f;
        for (int l = 0; l < k; ++l) sum += ai[l] * bj[l];
        column[i] = sum;
      }
    } else {  // A's columns are contiguous: accumulate them
      std::fill(column.begin(), column.end(), 0.0f);
      for (int l = 0; l < k; ++l) {
        const float* al = a + std::size_t(l) * lda;
        for (int i = 0; i < m; ++i) column[i] += al[i] * bj[l];
      }
    }
    float* cj = c + std::size_t(j) * ldc;
    for (int i = 0; i < m; ++i) cj[i] = alpha * column[i] + (beta == 0.0f ? 0.0f : beta * cj[i]);
  }
}

// c[m, n] = op(a) op(b) + beta c, all row-major: op(a) is a[m, k] (or a[k, m] transposed),
// op(b) is b[k, n] (or b[n, k] transposed).
inline void gemm(Context& ctx, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 const float* a, const float* b, float* c, float beta = 0.0f) {
  const int M = checked_int(m, "a GEMM's rows"), N = checked_int(n, "a GEMM's columns");
  const int K = checked_int(k, "a GEMM's inner dimension");
  const int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  const float alpha = 1.0f;
#if THAW_CUDA_ON_DEVICE
  check(cublasSgemm(ctx.blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K,
                    &alpha, b, ldb, a, lda, &beta, c, N),
        "cublasSgemm");
#else
  (void)ctx;
  host_sgemm(trans_b, trans_a, N, M, K, alpha, b, ldb, a, lda, beta, c, N);
#endif
}

}  // namespace thaw::cuda
