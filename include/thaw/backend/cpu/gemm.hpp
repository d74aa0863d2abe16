// thaw/backend/cpu/gemm.hpp — row-major matrix products over raw buffers through Eigen maps.
// With EIGEN_USE_BLAS (the thaw::thaw default) Eigen hands them to OpenBLAS's sgemm.
#pragma once

#include <cstddef>

#include <Eigen/Core>

namespace thaw::cpu {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;

// c[m, n] = a[m, k] * b[k, n]
inline void gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n) {
  using Index = Eigen::Index;
  MatrixMap(c, Index(m), Index(n)).noalias() =
      ConstMatrixMap(a, Index(m), Index(k)) * ConstMatrixMap(b, Index(k), Index(n));
}

// c[m, n] = a[m, k] * b[n, k]^T  (a Linear layer: inputs times the transposed weight)
inline void gemm_bt(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n) {
  using Index = Eigen::Index;
  MatrixMap(c, Index(m), Index(n)).noalias() =
      ConstMatrixMap(a, Index(m), Index(k)) * ConstMatrixMap(b, Index(n), Index(k)).transpose();
}

// c (+)= op(a) * op(b) for the backward pass: a is [m, k] ([k, m] when TransA), b is [k, n]
// ([n, k] when TransB); with Accumulate the product is added to c.
template <bool TransA, bool TransB, bool Accumulate = false>
void gemm_t(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n) {
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
}

}  // namespace thaw::cpu
