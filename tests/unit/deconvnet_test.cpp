// tests/unit/deconvnet_test.cpp — the deconvnet's pieces: the transposed convolution is the
// adjoint of the convolution (<conv(x), y> = <x, conv^T(y)>) for AlexNet's five geometries;
// the mirrored structure of a custom Net; top-k selection; errors; and the pictures (size,
// determinism).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <xtensor/xrandom.hpp>

#include "small_net.hpp"
#include "thaw/viz/grid.hpp"

namespace fs = std::filesystem;
using thaw::viz::Mirror;

namespace {

std::vector<float> random_vector(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

template <std::size_t K, std::size_t S, std::size_t P>
void check_adjoint(thaw::Shape in, std::size_t out_channels) {
  const thaw::Shape out{out_channels, (in.h + 2 * P - K) / S + 1, (in.w + 2 * P - K) / S + 1};
  const thaw::cpu::ConvGeometry g{in, out, K, S, P};
  const std::size_t batch = 2;
  const auto x = random_vector(batch * in.size(), 1), y = random_vector(batch * out.size(), 2);
  const auto w = random_vector(out.c * in.c * K * K, 3);
  const std::vector<float> zero_bias(out.c, 0.0f);
  std::vector<float> conv_x(batch * out.size()), convt_y(batch * in.size());
  thaw::cpu::ConvScratch scratch;
  thaw::cpu::conv2d_forward(g, x.data(), batch, w.data(), zero_bias.data(), false, conv_x.data(), scratch);
  thaw::cpu::conv2d_backward(g, nullptr, nullptr, y.data(), batch, w.data(), false, nullptr, nullptr, convt_y.data(),
                             scratch);
  double left = 0, right = 0, scale = 0;
  for (std::size_t i = 0; i < y.size(); ++i) left += double(conv_x[i]) * y[i], scale += std::abs(double(conv_x[i]) * y[i]);
  for (std::size_t i = 0; i < x.size(); ++i) right += double(x[i]) * convt_y[i];
  INFO("k" << K << " s" << S << " p" << P << ": <conv x, y> = " << left << ", <x, conv^T y> = " << right);
  CHECK(std::abs(left - right) <= 1e-5 * scale);
}

}  // namespace

TEST_CASE("the transposed convolution is the adjoint of the convolution", "[deconv]") {
  check_adjoint<11, 4, 2>({3, 35, 35}, 4);   // conv1: 35 -> 8, the last input row/column unused
  check_adjoint<5, 1, 2>({4, 13, 13}, 5);    // conv2
  check_adjoint<3, 1, 1>({6, 7, 7}, 5);      // conv3-conv5
}

TEST_CASE("DeconvNet mirrors the layer list", "[deconv]") {
  using D = thaw::viz::DeconvNet<thaw_test::SmallNet>;
  // Scope, conv, ReLU, pool, conv, ReLU, Scope, avgpool, Flatten, Scope, Dropout, Linear.
  STATIC_REQUIRE(D::mirrors == std::array{Mirror::Identity, Mirror::TransposedConv, Mirror::Rectify, Mirror::Unpool,
                                          Mirror::TransposedConv, Mirror::Rectify, Mirror::Identity, Mirror::None,
                                          Mirror::Identity, Mirror::Identity, Mirror::Identity, Mirror::None});
  STATIC_REQUIRE(D::conv_count == 2);
  STATIC_REQUIRE(D::conv_index(1) == 1);
  STATIC_REQUIRE(D::conv_index(2) == 4);
}

TEST_CASE("projections: the kept unit, top-k selection, errors, and deterministic pictures", "[deconv]") {
  thaw::Model<thaw_test::SmallNet, thaw::Cpu> model(4);
  thaw::viz::DeconvNet<thaw_test::SmallNet> deconv(model);
  xt::random::seed(3);
  const xt::xtensor<float, 4> images = xt::random::randn<float>({std::size_t{5}, std::size_t{3}, std::size_t{16}, std::size_t{16}});
  const auto p = deconv.project(images, {.layer = 2});
  REQUIRE(p.pixels.shape() == images.shape());
  for (std::size_t b = 0; b < 5; ++b) {  // the kept unit is the layer's maximum for that image
    const auto a = model.activation(4);
    float best = -1;
    for (std::size_t k = 0; k < 6 * 7 * 7; ++k) best = std::max(best, a.data()[b * 6 * 7 * 7 + k]);
    CHECK(p.activation[b] == best);
  }
  std::vector<std::size_t> chosen;
  const auto top = deconv.project_top(images, 2, 3, 2, chosen);
  REQUIRE(chosen.size() == 2);
  CHECK(top.activation[0] >= top.activation[1]);
  CHECK(top.channel == std::vector<std::size_t>{3, 3});
  CHECK_THROWS_WITH(deconv.project(images, {.layer = 3}), Catch::Contains("conv layers 1..2"));
  CHECK_THROWS_WITH(deconv.project(images, {.layer = 1, .channel = 4}), Catch::Contains("channel 4 of a layer with 4"));

  const fs::path a = fs::temp_directory_path() / "thaw_grid_a.png", b = fs::temp_directory_path() / "thaw_grid_b.png";
  thaw::viz::save_grid(a, images, p, {.pairs_per_row = 2});
  thaw::viz::save_grid(b, images, p, {.pairs_per_row = 2});
  const auto bytes = [](const fs::path& f) {
    std::ifstream in(f, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  };
  const auto png = bytes(a);
  CHECK(png == bytes(b));
  REQUIRE(png.size() > 24);
  const auto be32 = [&](std::size_t at) {
    return (std::uint32_t(std::uint8_t(png[at])) << 24) | (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint32_t(std::uint8_t(png[at + 3]));
  };
  // 2 pairs per row, 3 rows of 16 x 32 tiles with 4-pixel gaps: 76 x 64.
  CHECK(be32(16) == 2 * (2 * 16 + 4) + 4);
  CHECK(be32(20) == 3 * (16 + 4) + 4);
}
