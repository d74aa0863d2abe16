// thaw/backend/cpu/simd.hpp — the widest float vector the build targets (AVX-512, or AVX2 with
// FMA), for the kernels that keep a tile of accumulators in registers (direct_conv.hpp,
// skinny_gemm.hpp) and for Adam's update (adam_update.hpp), whose square root and division gcc
// does not vectorize from plain code. THAW_SIMD is defined only when one of the two is available;
// without it those kernels are not compiled: layers use im2col + GEMM or OpenBLAS, and Adam's
// update runs the plain loop on each thread's blocks.
#pragma once

#include <cstddef>
#include <utility>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define THAW_SIMD 1
#include <immintrin.h>

namespace thaw::cpu::simd {

#if defined(__AVX512F__)
using Vec = __m512;
inline constexpr std::size_t lanes = 16, registers = 32;
inline Vec zero() { return _mm512_setzero_ps(); }
inline Vec load(const float* p) { return _mm512_loadu_ps(p); }
inline Vec broadcast(float x) { return _mm512_set1_ps(x); }
inline Vec multiply_add(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline Vec multiply(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
inline Vec divide(Vec a, Vec b) { return _mm512_div_ps(a, b); }
// _mm512_sqrt_ps trips gcc 12's -Wmaybe-uninitialized (its _mm512_undefined_ps); all lanes
// selected, the zero-masked form is the same instruction.
inline Vec sqrt(Vec a) { return _mm512_maskz_sqrt_ps(__mmask16(0xffff), a); }
inline void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline float sum(Vec v) { return _mm512_reduce_add_ps(v); }
#else
using Vec = __m256;
inline constexpr std::size_t lanes = 8, registers = 16;
inline Vec zero() { return _mm256_setzero_ps(); }
inline Vec load(const float* p) { return _mm256_loadu_ps(p); }
inline Vec broadcast(float x) { return _mm256_set1_ps(x); }
inline Vec multiply_add(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline Vec multiply(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
inline Vec divide(Vec a, Vec b) { return _mm256_div_ps(a, b); }
inline Vec sqrt(Vec a) { return _mm256_sqrt_ps(a); }
inline void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline float sum(Vec v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pairs = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
}
#endif

// Calls f.template operator()<N>() for N = count (1 <= count <= Max): a loop's last, partial
// tile runs the same register-tile code as the full ones.
template <std::size_t Max, class F>
void with_tile_size(std::size_t count, F&& f) {
  [&]<std::size_t... N>(std::index_sequence<N...>) {
    ((count == N + 1 ? f.template operator()<N + 1>() : void()), ...);
  }(std::make_index_sequence<Max>{});
}

}  // namespace thaw::cpu::simd

#endif  // AVX-512 or AVX2 + FMA
