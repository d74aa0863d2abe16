// thaw/backend/cpu/winograd_transforms.hpp — the matrices of Winograd minimal filtering
// F(2x2, r x r) (Lavin & Gray 2016) for r = 3 (AlexNet conv3-5) and r = 5 (conv2), each as its
// action on one line of a tile. winograd.hpp applies a line transform down the columns and then
// along the rows of every tile, so  B^T d B,  A^T m A,  A dy A^T,  G g G^T  and  G^T dU G  are
// each one function here. The interpolation points are 0, 1, -1 (and 2, -2 for r = 5) and
// infinity; a test checks every matrix against direct convolution (parity.winograd).
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "thaw/core/conv_algorithm.hpp"

namespace thaw::cpu::winograd {

template <std::size_t N>
using Line = std::array<float, N>;

// F(2, 3): a 4-point input line gives 2 outputs.
struct F2x2_3x3 {
  static constexpr std::size_t kernel = 3, alpha = 4;
  static Line<4> input(const Line<4>& d) { return {d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]}; }
  static Line<2> output(const Line<4>& m) { return {m[0] + m[1] + m[2], m[1] - m[2] - m[3]}; }
  static Line<4> output_grad(const Line<2>& y) { return {y[0], y[0] + y[1], y[0] - y[1], -y[1]}; }
  static Line<4> filter(const Line<3>& g) {
    return {g[0], 0.5f * (g[0] + g[1] + g[2]), 0.5f * (g[0] - g[1] + g[2]), g[2]};
  }
  static Line<3> filter_grad(const Line<4>& u) {
    return {u[0] + 0.5f * (u[1] + u[2]), 0.5f * (u[1] - u[2]), 0.5f * (u[1] + u[2]) + u[3]};
  }
};

// F(2, 5): a 6-point input line gives 2 outputs, 9 products per output instead of 25.
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 1]   G = rows (1, p, p^2, p^3, p^4) / (4, -6, -6, 24, 24) for
//   p = 0, 1, -1, 2, -2, and (0 0 0 0 1) for infinity.
struct F2x2_5x5 {
  static constexpr std::size_t kernel = 5, alpha = 6;
  static Line<6> input(const Line<6>& d) {
    const float a = d[4] - 4.0f * d[2], b = d[3] - 4.0f * d[1];  // rows 1 and 2 share these
    const float c = d[4] - d[2], e = 2.0f * (d[3] - d[1]);       // rows 3 and 4 these
    return {4.0f * d[0] - 5.0f * d[2] + d[4], a + b, a - b, c + e, c - e, 4.0f * d[1] - 5.0f * d[3] + d[5]};
  }
  static Line<2> output(const Line<6>& m) {
    const float plus1 = m[1] + m[2], minus1 = m[1] - m[2], plus2 = m[3] + m[4], minus2 = m[3] - m[4];
    return {m[0] + plus1 + plus2, minus1 + 2.0f * minus2 + m[5]};
  }
  static Line<6> output_grad(const Line<2>& y) {
    const float twice = 2.0f * y[1];
    return {y[0], y[0] + y[1], y[0] - y[1], y[0] + twice, y[0] - twice, y[1]};
  }
  static Line<6> filter(const Line<5>& g) {
    const float even = g[0] + g[2] + g[4], odd = g[1] + g[3];
    const float even2 = g[0] + 4.0f * g[2] + 16.0f * g[4], odd2 = 2.0f * g[1] + 8.0f * g[3];
    return {0.25f * g[0], -(even + odd) / 6.0f, -(even - odd) / 6.0f, (even2 + odd2) / 24.0f,
            (even2 - odd2) / 24.0f, g[4]};
  }
  static Line<5> filter_grad(const Line<6>& u) {  // G^T u
    const float s1 = u[1] + u[2], d1 = u[1] - u[2], s2 = u[3] + u[4], d2 = u[3] - u[4];
    return {0.25f * u[0] - s1 / 6.0f + s2 / 24.0f, -d1 / 6.0f + d2 / 12.0f, (s2 - s1) / 6.0f,
            -d1 / 6.0f + d2 / 3.0f, -s1 / 6.0f + 2.0f * s2 / 3.0f + u[5]};
  }
};

// The transform of a k x k, stride-1, same-size convolution (core/conv_algorithm.hpp says which
// layers those are).
template <std::size_t Kernel>
  requires(Kernel == 3 || Kernel == 5)
using Transform = std::conditional_t<Kernel == 5, F2x2_5x5, F2x2_3x3>;

// cost_v counts these transforms' operations per tile (core/conv_algorithm.hpp): the same tiles.
static_assert(winograd_counts(3).alpha == F2x2_3x3::alpha && winograd_counts(5).alpha == F2x2_5x5::alpha);

template <class T>
inline constexpr std::size_t positions = T::alpha * T::alpha;  // element-wise products per tile

}  // namespace thaw::cpu::winograd
