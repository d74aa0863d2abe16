// tests/unit/kernels_test.cpp — CPU kernels against plain double-precision loops written from
// the definitions (PyTorch parity of the whole net is in tests/parity).
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "thaw/backend/cpu/conv2d.hpp"
#include "thaw/backend/cpu/direct_conv.hpp"
#include "thaw/backend/cpu/linear.hpp"
#include "thaw/backend/cpu/pooling.hpp"
#include "thaw/backend/cpu/skinny_gemm.hpp"
#include "thaw/backend/cpu/winograd.hpp"

namespace {

std::vector<float> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(double(a[i]) - b[i]);
    if (std::isnan(d)) return d;  // an output never written (NaN) fails any bound
    m = std::max(m, d);
  }
  return m;
}

}  // namespace

TEST_CASE("conv2d_forward and direct_conv2d_forward equal a naive convolution", "[kernels][conv]") {
  struct Case { std::size_t n, c, h, w, o, k, s, p; bool relu; };
  // Odd sizes, strides that leave a remainder, padding wider than the image's border rows,
  // chunks of several images.
  const Case cases[] = {{1, 3, 11, 13, 4, 3, 1, 1, false}, {3, 2, 17, 9, 5, 5, 2, 2, true},
                        {2, 3, 23, 23, 8, 11, 4, 2, true}, {5, 4, 6, 6, 3, 1, 1, 0, false},
                        {2, 2, 3, 4, 3, 5, 1, 2, false}, {3, 2, 10, 9, 4, 4, 3, 2, true},
                        // More output channels than one register tile holds, a part-filled last
                        // tile of channels and of pixels; padding wider than the kernel.
                        {2, 3, 31, 29, 70, 5, 2, 1, true}, {1, 1, 5, 5, 2, 1, 3, 4, false}};
  for (const Case& t : cases) {
    const thaw::Shape in{t.c, t.h, t.w};
    const thaw::Shape out{t.o, (t.h + 2 * t.p - t.k) / t.s + 1, (t.w + 2 * t.p - t.k) / t.s + 1};
    const auto x = random_vector(t.n * in.size(), 1), w = random_vector(t.o * t.c * t.k * t.k, 2),
               b = random_vector(t.o, 3);
    std::vector<double> ref(t.n * out.size());
    for (std::size_t n = 0; n < t.n; ++n)
      for (std::size_t o = 0; o < t.o; ++o)
        for (std::size_t oy = 0; oy < out.h; ++oy)
          for (std::size_t ox = 0; ox < out.w; ++ox) {
            double acc = b[o];
            for (std::size_t c = 0; c < t.c; ++c)
              for (std::size_t ky = 0; ky < t.k; ++ky)
                for (std::size_t kx = 0; kx < t.k; ++kx) {
                  const long iy = long(oy * t.s + ky) - long(t.p), ix = long(ox * t.s + kx) - long(t.p);
                  if (iy < 0 || ix < 0 || iy >= long(t.h) || ix >= long(t.w)) continue;
                  acc += double(w[((o * t.c + c) * t.k + ky) * t.k + kx]) *
                         x[((n * t.c + c) * t.h + std::size_t(iy)) * t.w + std::size_t(ix)];
                }
            ref[((n * t.o + o) * out.h + oy) * out.w + ox] = t.relu ? std::max(acc, 0.0) : acc;
          }
    const thaw::cpu::ConvGeometry g{in, out, t.k, t.s, t.p};
    std::vector<float> y(ref.size(), std::numeric_limits<float>::quiet_NaN());
    thaw::cpu::ConvScratch scratch;
    thaw::cpu::conv2d_forward(g, x.data(), t.n, w.data(), b.data(), t.relu, y.data(), scratch);
    CHECK(max_abs_diff(y, ref) < 1e-4);
#if defined(THAW_SIMD)
    std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
    thaw::cpu::direct_conv2d_forward(g, x.data(), t.n, w.data(), b.data(), t.relu, y.data(), scratch);
    CHECK(max_abs_diff(y, ref) < 1e-4);
#endif
  }
}

// The cache is what frozen layers use; the uncached path is checked against PyTorch
// (parity.winograd). A stale cache would keep the first weights' filters.
TEST_CASE("Winograd's filter cache follows every change of the weights it was made from", "[kernels][conv]") {
  const thaw::Shape in{6, 7, 5}, out{4, 7, 5};
  const thaw::cpu::ConvGeometry g{in, out, 3, 1, 1};
  const std::size_t n = 3;
  const auto x = random_vector(n * in.size(), 4), b = random_vector(out.c, 5);
  auto w = random_vector(out.c * in.c * 9, 6);
  thaw::cpu::WinogradScratch scratch;
  thaw::cpu::WinogradFilterCache cache;
  using thaw::cpu::winograd::F2x2_3x3;
  const auto forward = [&](thaw::cpu::WinogradFilterCache* c) {
    std::vector<float> y(n * out.size());
    thaw::cpu::winograd_conv2d_forward<F2x2_3x3>(g, x.data(), n, w.data(), b.data(), true, y.data(), scratch, c);
    return y;
  };
  const auto data_grad = [&](thaw::cpu::WinogradFilterCache* c) {
    std::vector<float> dx(n * in.size());
    // dz: the first n * out.size() values of x
    thaw::cpu::winograd_conv2d_data_grad<F2x2_3x3>(g, x.data(), n, w.data(), dx.data(), scratch, c);
    return dx;
  };
  REQUIRE(n * out.size() <= x.size());
  CHECK(forward(&cache) == forward(nullptr));
  CHECK(data_grad(&cache) == data_grad(nullptr));
  w[7] += 1.0f;  // in place, as loading new weights into a frozen layer does
  CHECK(forward(&cache) == forward(nullptr));
  w.back() = -w.back();
  CHECK(data_grad(&cache) == data_grad(nullptr));
  CHECK(forward(&cache) == forward(nullptr));
}

TEST_CASE("maxpool2d_forward takes the first maximum, records it, and propagates NaN", "[kernels][pool]") {
  const thaw::Shape in{2, 7, 8}, out{2, 3, 3};  // k3 s2, floor mode
  auto x = random_vector(2 * in.size(), 4);
  x[5] = x[6];                                          // a tie inside one window
  x[in.size() + 9] = std::numeric_limits<float>::quiet_NaN();   // second image, channel 0
  x[in.size() + 18] = std::numeric_limits<float>::quiet_NaN();  // the last NaN of a window wins
  std::vector<float> y(2 * out.size());
  std::vector<std::int32_t> sw(y.size());
  thaw::cpu::MaxPoolScratch scratch;
  thaw::cpu::maxpool2d_forward<3, 2>(in, out, x.data(), 2, y.data(), sw.data(), scratch);
  for (std::size_t p = 0; p < 2 * in.c; ++p)
    for (std::size_t oy = 0; oy < out.h; ++oy)
      for (std::size_t ox = 0; ox < out.w; ++ox) {
        const float* src = x.data() + p * in.h * in.w;
        std::size_t best = oy * 2 * in.w + ox * 2;
        for (std::size_t ky = 0; ky < 3; ++ky)
          for (std::size_t kx = 0; kx < 3; ++kx) {
            const std::size_t at = (oy * 2 + ky) * in.w + ox * 2 + kx;
            if (std::isnan(src[at]) || (!std::isnan(src[best]) && src[at] > src[best])) best = at;
          }
        const std::size_t o = p * out.size() / in.c + oy * out.w + ox;
        CHECK(sw[o] == std::int32_t(best));
        if (std::isnan(src[best])) CHECK(std::isnan(y[o]));
        else CHECK(y[o] == src[best]);
      }
}

TEST_CASE("maxpool2d keeps the first of tied maxima, forward and backward", "[kernels][pool]") {
  // Small integers, exact in float, tie often at the window maximum. PyTorch's CPU max-pool
  // scans each window row by row and replaces its maximum only on a strictly larger value.
  const thaw::Shape in{2, 9, 11}, out{2, 4, 5};  // k3 s2: neighbouring windows share a row or column
  constexpr std::size_t batch = 2, planes = batch * 2;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(0, 2);
  std::vector<float> x(batch * in.size());
  for (float& v : x) v = float(level(rng));
  std::vector<float> y(batch * out.size()), dy(y.size()), dx(x.size());
  std::vector<std::int32_t> sw(y.size());
  for (std::size_t o = 0; o < dy.size(); ++o) dy[o] = float(o + 1);  // distinct, exact sums
  thaw::cpu::MaxPoolScratch scratch;
  thaw::cpu::maxpool2d_forward<3, 2>(in, out, x.data(), batch, y.data(), sw.data(), scratch);
  thaw::cpu::maxpool2d_backward(in, out, dy.data(), sw.data(), batch, dx.data());

  const std::size_t in_plane = in.h * in.w, out_plane = out.h * out.w;
  std::vector<float> expected_dx(x.size(), 0.0f);
  std::size_t tied_windows = 0;
  std::set<std::size_t> first_positions;  // where in its window the first of a tie sat
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t oy = 0; oy < out.h; ++oy)
      for (std::size_t ox = 0; ox < out.w; ++ox) {
        const float* src = x.data() + p * in_plane;
        std::size_t first = 0, at_max = 0, first_k = 0;
        for (std::size_t k = 0; k < 9; ++k) {
          const std::size_t at = (oy * 2 + k / 3) * in.w + ox * 2 + k % 3;
          if (k == 0 || src[at] > src[first]) first = at, first_k = k, at_max = 1;
          else if (src[at] == src[first]) ++at_max;
        }
        if (at_max > 1) ++tied_windows, first_positions.insert(first_k);
        const std::size_t o = p * out_plane + oy * out.w + ox;
        INFO("plane " << p << ", output (" << oy << ", " << ox << "), " << at_max << " inputs at the maximum");
        CHECK(sw[o] == std::int32_t(first));
        CHECK(y[o] == src[first]);
        expected_dx[p * in_plane + first] += dy[o];
      }
  CHECK(dx == expected_dx);  // integer-valued sums below 2^24: exact
  // The check has teeth only if many windows tie at their maximum, the first of the tie in
  // various places of the window.
  CHECK(tied_windows >= 20);
  CHECK(first_positions.size() >= 4);
}

TEST_CASE("adaptive_avgpool2d_forward uses PyTorch's overlapping bins", "[kernels][pool]") {
  const thaw::Shape in{1, 5, 7}, out{1, 3, 4};
  const auto x = random_vector(in.size(), 5);
  std::vector<float> y(out.size());
  thaw::cpu::adaptive_avgpool2d_forward(in, out, x.data(), 1, y.data());
  for (std::size_t oy = 0; oy < out.h; ++oy)
    for (std::size_t ox = 0; ox < out.w; ++ox) {
      // floor(i*In/Out) .. ceil((i+1)*In/Out), computed in floating point here.
      const auto y0 = std::size_t(std::floor(double(oy) * 5 / 3)), y1 = std::size_t(std::ceil(double(oy + 1) * 5 / 3));
      const auto x0 = std::size_t(std::floor(double(ox) * 7 / 4)), x1 = std::size_t(std::ceil(double(ox + 1) * 7 / 4));
      double sum = 0;
      for (std::size_t iy = y0; iy < y1; ++iy)
        for (std::size_t ix = x0; ix < x1; ++ix) sum += x[iy * 7 + ix];
      CHECK(y[oy * out.w + ox] == Approx(sum / double((y1 - y0) * (x1 - x0))).margin(1e-6));
    }
}

TEST_CASE("linear_forward equals x W^T + b with optional ReLU", "[kernels][linear]") {
  const std::size_t n = 3, in = 37, out = 11;
  const auto x = random_vector(n * in, 6), w = random_vector(out * in, 7), b = random_vector(out, 8);
  for (bool relu : {false, true}) {
    std::vector<float> y(n * out);
    std::vector<float> packing;
    thaw::cpu::linear_forward(x.data(), n, in, out, w.data(), b.data(), relu, y.data(), packing);
    std::vector<double> ref(n * out);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t o = 0; o < out; ++o) {
        double acc = b[o];
        for (std::size_t k = 0; k < in; ++k) acc += double(x[i * in + k]) * w[o * in + k];
        ref[i * out + o] = relu ? std::max(acc, 0.0) : acc;
      }
    CHECK(max_abs_diff(y, ref) < 1e-4);
  }
}

namespace {

// op(a) * op(b) (+ c) in double, from the row-major layouts gemm_t documents.
template <bool TransA, bool TransB, bool Accumulate>
void check_gemm(std::size_t m, std::size_t k, std::size_t n) {
  const auto a = random_vector(m * k, 11), b = random_vector(k * n, 12);
  auto c = random_vector(m * n, 13);
  std::vector<double> ref(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double acc = Accumulate ? c[i * n + j] : 0.0;
      for (std::size_t p = 0; p < k; ++p)
        acc += double(TransA ? a[p * m + i] : a[i * k + p]) * (TransB ? b[j * k + p] : b[p * n + j]);
      ref[i * n + j] = acc;
    }
  thaw::cpu::gemm_t<TransA, TransB, Accumulate>(a.data(), b.data(), c.data(), m, k, n);
  INFO("m " << m << " k " << k << " n " << n << " transposed a " << TransA << " b " << TransB
            << " accumulate " << Accumulate);
  CHECK(max_abs_diff(c, ref) < 1e-4);
}

template <bool TransA, bool TransB>
void check_gemm_shapes() {
  // General, single row, single column, a dot product, and an empty inner dimension.
  for (auto [m, k, n] : {std::array<std::size_t, 3>{5, 7, 9}, {1, 33, 17}, {19, 31, 1}, {1, 23, 1}, {4, 0, 3}}) {
    check_gemm<TransA, TransB, false>(m, k, n);
    check_gemm<TransA, TransB, true>(m, k, n);
  }
}

}  // namespace

TEST_CASE("gemm_t computes op(a) op(b) for every transpose, row or column vector, and accumulates", "[kernels][gemm]") {
  check_gemm_shapes<false, false>();
  check_gemm_shapes<false, true>();
  check_gemm_shapes<true, false>();
  check_gemm_shapes<true, true>();
}

namespace {

// skinny_gemm's products against double sums: x w^T (the forward pass), a b and a^T b (the
// gradients), each with the packing buffer reused from a larger call as a layer reuses it.
void check_skinny(std::size_t m, std::size_t k, std::size_t n, std::vector<float>& packing) {
  const auto a = random_vector(m * k, 21), w = random_vector(n * k, 22), b = random_vector(k * n, 23);
  const auto at = random_vector(k * m, 24);
  std::vector<double> forward(m * n), plain(m * n), transposed(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < k; ++p) {
        forward[i * n + j] += double(a[i * k + p]) * w[j * k + p];
        plain[i * n + j] += double(a[i * k + p]) * b[p * n + j];
        transposed[i * n + j] += double(at[p * m + i]) * b[p * n + j];
      }
  INFO("m " << m << " k " << k << " n " << n);
  std::vector<float> c(m * n, std::numeric_limits<float>::quiet_NaN());
  thaw::cpu::skinny_gemm_bt(a.data(), w.data(), c.data(), m, k, n, packing);
  CHECK(max_abs_diff(c, forward) < 1e-4 * std::sqrt(double(k)));
  std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
  thaw::cpu::skinny_gemm<false>(a.data(), b.data(), c.data(), m, k, n, packing);
  CHECK(max_abs_diff(c, plain) < 1e-4 * std::sqrt(double(k)));
  std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
  thaw::cpu::skinny_gemm<true>(at.data(), b.data(), c.data(), m, k, n, packing);
  CHECK(max_abs_diff(c, transposed) < 1e-4 * std::sqrt(double(k)));
}

}  // namespace

TEST_CASE("skinny_gemm's products equal double sums on every path: tiles, partial tiles and OpenBLAS",
          "[kernels][gemm]") {
  std::vector<float> packing;
  // Several tiles of rows with a partial last one, slices of k with a partial last one, several
  // blocks of columns; batch-sized m and k (the gradients), a single row (a matrix-vector
  // product), columns no whole tile holds and more rows than the batch limit (both OpenBLAS).
  for (auto [m, k, n] : {std::array<std::size_t, 3>{100, 20, 320}, {2, 300, 96}, {32, 5, 640}, {7, 33, 64},
                         {1, 40, 64}, {5, 30, 17}, {70, 20, 64}})
    check_skinny(m, k, n, packing);
}
