// tests/unit/deconvnet_test.cpp — the deconvnet's pieces: the transposed convolution is the
// adjoint of the convolution (<conv(x), y> = <x, conv^T(y)>) for AlexNet's five geometries;
// the mirrored structure of a custom Net; top-k selection (against a brute-force ranking);
// errors; and the pictures (size, determinism).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
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
  REQUIRE(model.is_training());  // a new Model trains, like a torch.nn.Module
  const auto p = deconv.project(images, {.layer = 2});
  CHECK(model.is_training());  // projecting ran in eval mode and gave the model its mode back
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
  CHECK(model.is_training());
  CHECK(top.activation[0] >= top.activation[1]);
  CHECK(top.channel == std::vector<std::size_t>{3, 3});
  CHECK_THROWS_WITH(deconv.project(images, {.layer = 3}), Catch::Contains("conv layers 1..2"));
  CHECK_THROWS_WITH(deconv.project(images, {.layer = 1, .channel = 4}), Catch::Contains("channel 4 of a layer with 4"));

  const fs::path a = fs::temp_directory_path() / "thaw_grid_a.png", b = fs::temp_directory_path() / "thaw_grid_b.png";
  thaw::viz::save_grid(a, images, p, {.pairs_per_row = 2, .labels = false});
  thaw::viz::save_grid(b, images, p, {.pairs_per_row = 2, .labels = false});
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

  // Cropped to CL1's 3 x 3 receptive fields, with a second model's projections beside them.
  thaw::Model<thaw_test::SmallNet, thaw::Cpu> other_model(5);
  thaw::viz::DeconvNet<thaw_test::SmallNet> other(other_model);
  const auto p1 = deconv.project(images, {.layer = 1}), q1 = other.project(images, {.layer = 1});
  thaw::viz::save_grid(a, images, {&p1, &q1}, {.pairs_per_row = 5, .gap = 1, .crop = true, .labels = false});
  const auto cropped = bytes(a);
  const auto be = [&](std::size_t at) {
    return (std::uint32_t(std::uint8_t(cropped[at])) << 24) | (std::uint32_t(std::uint8_t(cropped[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(cropped[at + 2])) << 8) | std::uint32_t(std::uint8_t(cropped[at + 3]));
  };
  CHECK(be(16) == 5 * (3 * 3 + 1) + 1);  // 5 images x (input + 2 projections) of 3 pixels
  CHECK(be(20) == 3 + 2);
  // Labels add a strip of 5 font rows (scale 1 for 3-pixel tiles) + 2 above each row.
  thaw::viz::save_grid(a, images, {&p1, &q1}, {.pairs_per_row = 5, .gap = 1, .crop = true});
  const auto labelled = bytes(a);
  CHECK((std::uint32_t(std::uint8_t(labelled[23])) | std::uint32_t(std::uint8_t(labelled[22])) << 8) == 3 + 7 + 2);
}

TEST_CASE("project_top picks the k images a brute-force ranking of the activations picks", "[deconv]") {
  // 37 images: project_top runs them in chunks of 16, so 3 chunks, the last one partial.
  constexpr std::size_t count = 37, k = 9, layer = 2, channel = 3, conv2 = 4, plane = 7 * 7;
  thaw::Model<thaw_test::SmallNet, thaw::Cpu> model(4);
  thaw::viz::DeconvNet<thaw_test::SmallNet> deconv(model);
  STATIC_REQUIRE(decltype(deconv)::conv_index(layer) == conv2);
  xt::random::seed(11);
  const xt::xtensor<float, 4> images = xt::random::randn<float>({count, std::size_t{3}, std::size_t{16}, std::size_t{16}});

  // Every image's strongest unit in the channel, from one forward pass over all of them.
  model.eval();
  model.forward(images);
  const auto a = model.activation(conv2);
  std::vector<float> strongest(count);
  for (std::size_t i = 0; i < count; ++i) {
    const float* unit = a.data() + (i * 6 + channel) * plane;
    strongest[i] = *std::max_element(unit, unit + plane);
  }
  std::vector<std::size_t> ranking(count);
  std::iota(ranking.begin(), ranking.end(), std::size_t{0});
  std::sort(ranking.begin(), ranking.end(), [&](std::size_t x, std::size_t y) { return strongest[x] > strongest[y]; });
  // Preconditions of a fair check: the answer must not hang on rounding (project_top's batches
  // of 16 may round differently from one batch of 37), nor on rectified zeros tying, and the
  // top k must come from more than one chunk.
  for (std::size_t r = 0; r < k; ++r) {
    INFO("rank " << r);
    REQUIRE(strongest[ranking[r]] - strongest[ranking[r + 1]] > 1e-4f * strongest[ranking[0]]);
  }
  REQUIRE(strongest[ranking[k]] > 0.0f);
  REQUIRE(std::any_of(ranking.begin(), ranking.begin() + k, [](std::size_t i) { return i < 16; }));
  REQUIRE(std::any_of(ranking.begin(), ranking.begin() + k, [](std::size_t i) { return i >= 32; }));

  std::vector<std::size_t> chosen;
  const auto top = deconv.project_top(images, layer, channel, k, chosen);
  CHECK(chosen == std::vector<std::size_t>(ranking.begin(), ranking.begin() + k));
  REQUIRE(top.activation.size() == k);
  // Same units, same arithmetic but other batch sizes: a few float roundings apart.
  for (std::size_t r = 0; r < k; ++r) CHECK(top.activation[r] == Approx(strongest[ranking[r]]).epsilon(1e-5));
}

TEST_CASE("receptive fields: AlexNet's sizes, and projections stay inside them", "[deconv]") {
  using D = thaw::viz::DeconvNet<thaw::paper::MidLevelFE>;
  // A central unit of CL1..CL5 sees 11, 51, 99, 131 and 163 pixels square.
  constexpr auto size = [](thaw::viz::Box b) { return std::pair{b.bottom - b.top, b.right - b.left}; };
  STATIC_REQUIRE(size(D::receptive_field<D::conv_index(1)>(27, 27)) == std::pair<std::size_t, std::size_t>{11, 11});
  STATIC_REQUIRE(size(D::receptive_field<D::conv_index(2)>(13, 13)) == std::pair<std::size_t, std::size_t>{51, 51});
  STATIC_REQUIRE(size(D::receptive_field<D::conv_index(3)>(6, 6)) == std::pair<std::size_t, std::size_t>{99, 99});
  STATIC_REQUIRE(size(D::receptive_field<D::conv_index(4)>(6, 6)) == std::pair<std::size_t, std::size_t>{131, 131});
  STATIC_REQUIRE(size(D::receptive_field<D::conv_index(5)>(6, 6)) == std::pair<std::size_t, std::size_t>{163, 163});
  // conv1 unit (0, 0): padding 2 cuts its 11-pixel window to rows and columns 0..8.
  STATIC_REQUIRE(D::receptive_field<D::conv_index(1)>(0, 0).bottom == 9);

  thaw::Model<thaw_test::SmallNet, thaw::Cpu> model(4);
  thaw::viz::DeconvNet<thaw_test::SmallNet> deconv(model);
  xt::random::seed(9);
  const xt::xtensor<float, 4> images = xt::random::randn<float>({std::size_t{4}, std::size_t{3}, std::size_t{16}, std::size_t{16}});
  for (std::size_t layer : {1, 2}) {
    const auto p = deconv.project(images, {.layer = layer});
    CHECK(p.layer == layer);
    std::size_t outside = 0, inside = 0;
    for (std::size_t b = 0; b < 4; ++b)
      for (std::size_t k = 0; k < 3; ++k)
        for (std::size_t y = 0; y < 16; ++y)
          for (std::size_t x = 0; x < 16; ++x) {
            const bool in = y >= p.field[b].top && y < p.field[b].bottom && x >= p.field[b].left && x < p.field[b].right;
            (in ? inside : outside) += p.pixels(b, k, y, x) != 0.0f;
          }
    CHECK(outside == 0);
    CHECK(inside > 0);
  }
}
