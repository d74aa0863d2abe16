// tests/unit/training_test.cpp — what the freeze pattern removes (no gradient, no optimizer
// state, no data gradient below the lowest trainable layer), determinism, the errors of a
// training step, and Cpu's vector Adam update.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xrandom.hpp>

#include "small_net.hpp"
#include "thaw/train/adam.hpp"

using thaw_test::SmallNet;

namespace {
xt::xtensor<float, 4> random_batch(std::size_t n, std::uint64_t seed) {
  xt::random::seed(seed);
  return xt::random::randn<float>({n, std::size_t{3}, std::size_t{16}, std::size_t{16}});
}
}  // namespace

TEST_CASE("mid-level FE: gradients and Adam state exist for conv3, conv4 and FC3 only", "[training]") {
  using Model = thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu>;
  // Frozen layers have no gradient members at all (conv1 = layer 1, conv2 = 4, conv5 = 11,
  // FC1 = 19, FC2 = 22); trainable ones do (conv3 = 7, conv4 = 9, FC3 = 24).
  constexpr auto has_gradient = []<std::size_t I>() { return requires(Model& m) { m.template layer<I>().weight_grad; }; };
  STATIC_REQUIRE(!has_gradient.template operator()<1>());
  STATIC_REQUIRE(!has_gradient.template operator()<4>());
  STATIC_REQUIRE(!has_gradient.template operator()<11>());
  STATIC_REQUIRE(!has_gradient.template operator()<19>());
  STATIC_REQUIRE(!has_gradient.template operator()<22>());
  STATIC_REQUIRE(has_gradient.template operator()<7>());
  STATIC_REQUIRE(has_gradient.template operator()<9>());
  STATIC_REQUIRE(has_gradient.template operator()<24>());
  // The backward plan: nothing at or below conv3 computes a data gradient.
  for (std::size_t i = 0; i < thaw::paper::MidLevelFE::size; ++i) CHECK(Model::computes_input_gradient[i] == (i > 7));

  Model model;
  using Entry = std::pair<std::string, std::size_t>;
  CHECK(model.trainable_tensors() == std::vector<Entry>{{"features.6.weight", 663552}, {"features.6.bias", 384},
                                                        {"features.8.weight", 884736}, {"features.8.bias", 256},
                                                        {"classifier.6.weight", 4096}, {"classifier.6.bias", 1}});
  thaw::train::Adam optimizer(model);
  CHECK(optimizer.state_size() == 2 * 1'553'025);
}

TEST_CASE("training is deterministic for a seed, and leaves frozen layers bit-identical", "[training]") {
  const auto run = [](std::uint64_t dropout_seed) {
    thaw::Model<SmallNet, thaw::Cpu> model(3);
    model.train();
    model.seed_dropout(dropout_seed);
    thaw::train::Adam optimizer(model, {.lr = 1e-2});
    const std::vector<float> labels{1, 0, 0, 1, 0, 1, 1, 0, 1};  // 3 images x 3 outputs
    for (int step = 0; step < 3; ++step) model.train_step(random_batch(3, 10 + step), labels, optimizer);
    return model.state_dict();
  };
  const auto a = run(5), b = run(5), c = run(6);
  const bool same = a == b;
  CHECK(same);
  const bool dropout_matters = a.at("classifier.1.weight") != c.at("classifier.1.weight");
  CHECK(dropout_matters);
  const auto initial = thaw::Model<SmallNet, thaw::Cpu>(3).state_dict();
  const bool frozen_untouched = a.at("features.0.weight") == initial.at("features.0.weight") &&
                                a.at("features.0.bias") == initial.at("features.0.bias");
  CHECK(frozen_untouched);
  const bool trained_moved = a.at("features.3.weight") != initial.at("features.3.weight");
  CHECK(trained_moved);
}

TEST_CASE("a training step refuses bad labels and names where a NaN appeared", "[training][errors]") {
  thaw::Model<SmallNet, thaw::Cpu> model(3);
  model.train();
  thaw::train::Adam optimizer(model);
  const auto x = random_batch(2, 1);
  CHECK_THROWS_WITH(model.train_step(x, std::vector<float>{1, 0, 2, 0, 1, 1}, optimizer),
                    Catch::Contains("label 2 is 2.0") && Catch::Contains("0 or 1"));
  CHECK_THROWS_WITH(model.train_step(x, std::vector<float>{1, 0}, optimizer),
                    Catch::Contains("2 labels for 6 outputs"));
  auto bad = x;
  bad(1, 2, 3, 4) = NAN;
  CHECK_THROWS_WITH(model.train_step(bad, std::vector<float>(6, 1.0f), optimizer),
                    Catch::Contains("step 1: the loss is NaN") && Catch::Contains("the input batch holds a non-finite"));
  // Weights that overflow: the first layer whose output is not finite is named.
  auto sd = model.state_dict();
  sd["features.3.weight"].fill(3e38f);
  model.load_state_dict(sd);
  CHECK_THROWS_WITH(model.train_step(x, std::vector<float>(6, 1.0f), optimizer),
                    Catch::Contains("step 2") && Catch::Contains("layer 4 (Conv2d(4->6") &&
                        Catch::Contains("'features.3')"));
}

TEST_CASE("Cpu's vector Adam update does the plain loop's arithmetic", "[training][adam]") {
  // Two thread blocks and a tail shorter than a vector; with and without weight decay, over
  // steps whose moments build up. Each value is checked against the one-element-at-a-time loop
  // (core/adam_update.hpp). Where the compiler fuses a multiply-add the two round differently,
  // and a moment that nearly cancels carries that as a large relative error, so the bounds are
  // absolute, a few float steps at each quantity's size (params ~1, m ~0.1, v ~0.01); a wrong
  // coefficient or a dropped weight-decay term moves them by 1e-4 or more.
  const std::size_t n = 2 * 16384 + 37;
  for (const float decay : {0.0f, 0.01f}) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    std::vector<float> params(n), grads(n);
    for (float& p : params) p = normal(rng);
    const std::vector<float> initial = params;
    std::vector<float> plain = params, m(n, 0.0f), v(n, 0.0f), plain_m = m, plain_v = v;
    thaw::train::AdamOptions options{.lr = 1e-2, .weight_decay = decay};
    for (std::uint64_t step = 1; step <= 5; ++step) {
      for (float& g : grads) g = normal(rng);
      const thaw::AdamScalars s = thaw::train::adam_scalars(options, step);
      thaw::Cpu::adam_update(s, params, grads, m.data(), v.data());
      thaw::adam_update(s, plain.data(), grads.data(), plain_m.data(), plain_v.data(), 0, n);
    }
    std::size_t off = 0;
    for (std::size_t i = 0; i < n; ++i)
      off += std::abs(params[i] - plain[i]) > 1e-6f || std::abs(m[i] - plain_m[i]) > 5e-7f ||
             std::abs(v[i] - plain_v[i]) > 5e-8f;
    INFO("weight decay " << decay);
    CHECK(off == 0);
    CHECK(params != initial);
  }
}
