// tests/unit/backward_test.cpp — every layer's backward step against central finite
// differences of its forward step. The layers compute in float, so the differences use a
// step of 1e-2 on O(1) data and the loss sum(y * r) (r random): the truncation error is then
// O(step^2) and float rounding ~1e-6/step; 1e-2 relative to the largest gradient is ample
// for a wrong index or a missing term (they give errors of order 1). Where a ReLU or a max
// switches between the two probes the difference quotient is meaningless, so such entries are
// skipped (and counted: at least half the entries must be checked). Dropout draws its mask
// again on every forward pass, so each probe re-seeds the generator: the same mask throughout.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include "thaw/backend/cpu/layers.hpp"

namespace {

std::vector<float> random_vector(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Checks dL/dx (and dL/dW, dL/db for layers with parameters) of layer object `layer` with
// input shape In and batch `batch`, where L = sum(y * r).
template <class LayerObject, thaw::Shape In, thaw::Shape Out>
void check_layer(LayerObject& layer, std::size_t batch, std::uint64_t seed) {
  thaw::cpu::Context ctx;
  ctx.training = true;
  std::vector<float> x = random_vector(batch * In.size(), seed);
  const std::vector<float> r = random_vector(batch * Out.size(), seed + 1);
  const auto loss = [&](const std::vector<float>& input) {
    ctx.dropout_rng.seed(seed + 2);
    const float* y = layer.forward(input.data(), batch, ctx);
    double sum = 0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += double(y[i]) * r[i];
    return sum;
  };
  loss(x);
  const float* dx = layer.backward(x.data(), r.data(), batch, true, ctx);
  const std::vector<float> analytic(dx, dx + x.size());
  float step = 1e-2f;  // inputs; parameters (which move many outputs at once) use 1e-3
  // Which side of every kink the forward pass is on: ReLU signs and max-pool switches.
  const auto kinks = [&] {
    std::vector<std::int64_t> state;
    if constexpr (requires { layer.switches; }) state.assign(layer.switches.begin(), layer.switches.end());
    else if constexpr (requires { layer.output; })
      for (float v : layer.output) state.push_back(v > 0.0f);
    return state;
  };
  // The central difference at entry i, or nothing when a kink lies between the two probes.
  const auto numeric = [&](std::vector<float>& values, std::size_t i, const std::vector<float>& input)
      -> std::optional<double> {
    const float keep = values[i];
    values[i] = keep + step;
    const double up = loss(input);
    const auto kinks_up = kinks();
    values[i] = keep - step;
    const double down = loss(input);
    const bool smooth = kinks() == kinks_up;
    values[i] = keep;
    if (!smooth) return std::nullopt;
    return (up - down) / (2 * step);
  };
  // Probe a spread of entries (all of them for small tensors).
  const auto probe = [&](std::vector<float>& values, const std::vector<float>& grad, const char* what) {
    double worst = 0, scale = 1e-6;
    for (float g : grad) scale = std::max(scale, double(std::abs(g)));
    const std::size_t stride = std::max<std::size_t>(1, values.size() / 400);
    std::size_t probed = 0, skipped = 0;
    for (std::size_t i = 0; i < values.size(); i += stride, ++probed) {
      const auto n = numeric(values, i, x);
      if (n) worst = std::max(worst, std::abs(*n - grad[i]));
      else ++skipped;
    }
    INFO(what << ": max |numeric - analytic| = " << worst << ", max |analytic| = " << scale << "; " << skipped
              << " of " << probed << " entries straddle a kink");
    CHECK(worst <= 1e-2 * scale);
    CHECK(skipped * 2 <= probed);
  };
  probe(x, analytic, "input gradient");
  if constexpr (requires { layer.weight_grad; }) {
    loss(x);
    layer.backward(x.data(), r.data(), batch, false, ctx);
    const std::vector<float> dw = layer.weight_grad, db = layer.bias_grad;
    step = 1e-3f;
    probe(layer.weight, dw, "weight gradient");
    probe(layer.bias, db, "bias gradient");
  }
}

template <class L, thaw::Shape In, bool Fused = false>
void check(std::size_t batch, std::uint64_t seed = 1) {
  INFO(L::name() << (Fused ? " + ReLU" : "") << ", input " << In.c << "x" << In.h << "x" << In.w << ", batch " << batch);
  thaw::cpu::Layer<L, In, Fused> layer;
  if constexpr (thaw::ParameterizedLayer<L>) {
    const auto w = random_vector(L::weight_size, seed + 7, 0.3f), b = random_vector(L::bias_size, seed + 8, 0.3f);
    layer.weight = w;
    layer.bias = b;
  }
  check_layer<decltype(layer), In, L::output_shape(In)>(layer, batch, seed);
}

}  // namespace

TEST_CASE("Conv2d backward equals finite differences (AlexNet's geometries, chunked batches)", "[backward]") {
  check<thaw::Conv2d<3, 4, 11, 4, 2, thaw::Trainable>, thaw::Shape{3, 23, 23}>(2);
  check<thaw::Conv2d<3, 4, 11, 4, 2, thaw::Trainable>, thaw::Shape{3, 23, 23}, true>(2);  // + ReLU
  check<thaw::Conv2d<4, 5, 5, 1, 2, thaw::Trainable>, thaw::Shape{4, 9, 9}, true>(3);
  // Small planes: several images per GEMM chunk.
  check<thaw::Conv2d<6, 5, 3, 1, 1, thaw::Trainable>, thaw::Shape{6, 5, 5}, true>(7);
  // 576 x 256 columns per image: chunks of 7 images, then a remainder of 2.
  check<thaw::Conv2d<64, 4, 3, 1, 1, thaw::Trainable>, thaw::Shape{64, 16, 16}, true>(9);
}

TEST_CASE("Linear, pooling, ReLU and dropout backward equal finite differences", "[backward]") {
  check<thaw::Linear<12, 5, thaw::Trainable>, thaw::Shape{12, 1, 1}>(3);
  check<thaw::Linear<12, 5, thaw::Trainable>, thaw::Shape{12, 1, 1}, true>(3);
  check<thaw::MaxPool2d<3, 2>, thaw::Shape{2, 9, 9}>(2);
  check<thaw::AdaptiveAvgPool2d<3, 3>, thaw::Shape{2, 7, 5}>(2);
  check<thaw::ReLU, thaw::Shape{3, 4, 4}>(2);
}

TEST_CASE("Dropout's backward routes the gradient through the forward pass's mask", "[backward][dropout]") {
  thaw::cpu::Layer<thaw::Dropout<50>, thaw::Shape{40, 1, 1}, false> layer;
  check_layer<decltype(layer), thaw::Shape{40, 1, 1}, thaw::Shape{40, 1, 1}>(layer, 3, 5);
  // The check means something only if the mask dropped some entries and kept others.
  REQUIRE(layer.active);
  const auto kept = std::count(layer.kept.begin(), layer.kept.end(), std::uint8_t{1});
  CHECK(kept > 20);
  CHECK(kept < 100);
}
