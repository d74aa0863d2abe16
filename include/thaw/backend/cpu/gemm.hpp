// thaw/backend/cpu/gemm.hpp — row-major matrix products over raw buffers. With EIGEN_USE_BLAS
// (the thaw::thaw default) they call BLAS's sgemm themselves; otherwise Eigen computes them.
#pragma once

#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

namespace thaw::cpu {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;

// c (+)= op(a) * op(b): a is [m, k] ([k, m] when TransA), b is [k, n] ([n, k] when TransB), c is
// [m, n]; with Accumulate the product is added to c.
template <bool TransA, bool TransB, bool Accumulate = false>
void gemm_t(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n) {
#if defined(EIGEN_USE_BLAS)
  if (m == 0 || n == 0) return;
  if (k == 0) {  // sgemm would reject the zero leading dimensions
    if (!Accumulate) std::fill_n(c, m * n, 0.0f);
    return;
  }
  // Eigen's `c = a * b` first zeroes c and then has sgemm add to it (beta = 1): a pass over c
  // that cost conv1's forward 8%. Called directly, BLAS writes c with beta = 0. A row-major c is
  // a column-major c^T = op(b)^T * op(a)^T, so b is the first operand.
  const int rows = int(n), cols = int(m), inner = int(k), step = 1;
  const int ldb = TransB ? inner : rows, lda = TransA ? cols : inner;
  const float one = 1.0f, beta = Accumulate ? 1.0f : 0.0f;
  // A single row or column is a matrix-vector product, which sgemm runs several times slower
  // (AlexNet's linear layers at batch 1: the whole forward 10.5 -> 17.5 ms).
  if (m == 1) {  // c^T = op(b)^T * a^T; a's k values are contiguous either way
    const char trans = TransB ? 'T' : 'N';
    const int b_rows = TransB ? inner : rows, b_cols = TransB ? rows : inner;
    sgemv_(&trans, &b_rows, &b_cols, &one, b, &ldb, a, &step, &beta, c, &step);
  } else if (n == 1) {  // c = op(a) * b; b's k values are contiguous either way
    const char trans = TransA ? 'N' : 'T';
    const int a_rows = TransA ? cols : inner, a_cols = TransA ? inner : cols;
    sgemv_(&trans, &a_rows, &a_cols, &one, a, &lda, b, &step, &beta, c, &step);
  } else {
    const char trans_b = TransB ? 'T' : 'N', trans_a = TransA ? 'T' : 'N';
    sgemm_(&trans_b, &trans_a, &rows, &cols, &inner, &one, b, &ldb, a, &lda, &beta, c, &rows);
  }
#else
  using Index = Eigen::Index;
  const auto op_a = [&] {
    if constexpr (TransA) return ConstMatrixMap(a, Index(k), Index(m)).transpose();
    else return ConstMatrixMap(a, Index(m), Index(k));
  }();
  const auto op_b = [&] {
    if constexpr (TransB) return ConstMatrixMap(b, Index(n), Index(k)).transpose();
    else return ConstMatrixMap(b, Index(k), Index(n));
  }();
  if constexpr (Accumulate) MatrixMap(c, Index(m), Index(n)).noalias() += op_a * op_b;
  else MatrixMap(c, Index(m), Index(n)).noalias() = op_a * op_b;
#endif
}

// c[m, n] = a[m, k] * b[k, n]
inline void gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n) {
  gemm_t<false, false>(a, b, c, m, k, n);
}

// c[m, n] = a[m, k] * b[n, k]^T  (a Linear layer: inputs times the transposed weight)
inline void gemm_bt(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n) {
  gemm_t<false, true>(a, b, c, m, k, n);
}

}  // namespace thaw::cpu
