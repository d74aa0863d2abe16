// tests/unit/model_test.cpp — Model's state-dict contract (keys, shapes, all-or-nothing
// loading), batch checks, and train/eval behaviour of dropout.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xrandom.hpp>

#include "small_net.hpp"

using thaw_test::SmallNet;
using Model = thaw::Model<SmallNet, thaw::Cpu>;

namespace {
xt::xtensor<float, 4> random_batch(std::size_t n) {
  xt::random::seed(7);
  return xt::random::randn<float>({n, std::size_t{3}, std::size_t{16}, std::size_t{16}});
}
}  // namespace

TEST_CASE("state_dict uses Scope keys and round-trips through load_state_dict", "[model]") {
  Model a(1), b(2);
  const thaw::StateDict sd = a.state_dict();
  CHECK(sd.size() == 6);
  CHECK(sd.at("features.0.weight").shape() == std::vector<std::size_t>{4, 3, 3, 3});
  CHECK(sd.at("features.3.bias").shape() == std::vector<std::size_t>{6});
  CHECK(sd.at("classifier.1.weight").shape() == std::vector<std::size_t>{3, 24});
  const auto x = random_batch(2);
  a.eval();
  b.eval();
  CHECK_FALSE(xt::allclose(a.forward(x), b.forward(x)));
  b.load_state_dict(sd);
  const bool same = a.forward(x) == b.forward(x);
  CHECK(same);
}

TEST_CASE("PyTorch-default initialisation stays inside +-1/sqrt(fan_in)", "[model]") {
  const auto sd = Model(3).state_dict();
  const float bound = 1.0f / std::sqrt(3.0f * 3 * 3);
  const float largest = xt::amax(xt::abs(sd.at("features.0.weight")))();
  CHECK(largest <= bound);
  CHECK(largest > 0.8f * bound);
}

TEST_CASE("a bad state dict names the key and the shapes, and changes nothing", "[model][errors]") {
  Model model(1);
  const thaw::StateDict before = model.state_dict();
  auto expect_error = [&](thaw::StateDict sd, const std::string& needle) {
    try {
      model.load_state_dict(sd);
      FAIL("load_state_dict accepted a bad dictionary");
    } catch (const std::invalid_argument& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
    const bool unchanged = model.state_dict() == before;
    CHECK(unchanged);
  };
  thaw::StateDict other = Model(9).state_dict();

  auto missing = other;
  missing.erase("features.3.weight");
  expect_error(missing, "missing key 'features.3.weight' (expected shape [6, 4, 3, 3])");

  auto wrong_shape = other;
  wrong_shape["classifier.1.weight"] = xt::zeros<float>({3, 25});
  expect_error(wrong_shape, "key 'classifier.1.weight' has shape [3, 25] but the model expects [3, 24]");

  auto unknown = other;
  unknown["classifier.7.weight"] = xt::zeros<float>({1});
  expect_error(unknown, "unexpected key(s) 'classifier.7.weight'");

  auto nan = other;
  nan["features.0.bias"](2) = std::numeric_limits<float>::quiet_NaN();
  expect_error(nan, "key 'features.0.bias' contains NaN");

  // Non-strict loading ignores unknown keys.
  model.load_state_dict(unknown, /*strict=*/false);
  const bool loaded = model.state_dict().at("features.0.weight") == other.at("features.0.weight");
  CHECK(loaded);
}

TEST_CASE("a batch of the wrong shape is a clear error", "[model][errors]") {
  Model model;
  xt::xtensor<float, 4> gray = xt::zeros<float>({2, 1, 16, 16});
  CHECK_THROWS_WITH(model.forward(gray), Catch::Contains("the batch has shape [2, 1, 16, 16]") &&
                                             Catch::Contains("takes [N, 3, 16, 16]"));
  xt::xtensor<float, 4> empty = xt::zeros<float>({0, 3, 16, 16});
  CHECK_THROWS_AS(model.forward(empty), std::invalid_argument);
  CHECK_THROWS_AS(model.activation(3), std::out_of_range);  // nothing ran yet
}

TEST_CASE("dropout acts only in train mode and follows its seed", "[model][dropout]") {
  Model model(4);
  const auto x = random_batch(4);
  model.eval();
  const auto eval1 = model.forward(x), eval2 = model.forward(x);
  const bool eval_repeatable = eval1 == eval2;
  CHECK(eval_repeatable);
  CHECK_FALSE(model.is_training());

  model.train();
  CHECK(model.is_training());
  model.seed_dropout(11);
  const auto train1 = model.forward(x);
  model.seed_dropout(11);
  const auto train2 = model.forward(x);
  const bool train_repeatable = train1 == train2;
  CHECK(train_repeatable);
  CHECK_FALSE(xt::allclose(train1, eval1));
  // About half of the dropout layer's outputs are zero, the rest scaled by 2.
  const auto dropped = model.activation(10), kept_in = model.activation(8);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < dropped.size(); ++i) {
    if (dropped.data()[i] == 0.0f) ++zeros;
    else CHECK(dropped.data()[i] == 2.0f * kept_in.data()[i]);
  }
  CHECK(zeros > dropped.size() / 4);
  CHECK(zeros < 3 * dropped.size() / 4);
}

TEST_CASE("dropout keeps each element with probability 1 - p and scales it by 1 / (1 - p)", "[model][dropout]") {
  // 10^5 elements: the kept fraction's standard deviation is about 0.0015, so 0.01 is over 6 of them.
  constexpr thaw::Shape shape{1, 1, 100000};
  const std::vector<float> x(shape.size(), 1.0f);
  thaw::cpu::Context ctx;
  const auto kept_fraction = [&]<std::size_t P>(thaw::cpu::Layer<thaw::Dropout<P>, shape, false>&& layer) {
    const float* y = layer.forward(x.data(), 1, ctx);
    std::size_t kept = 0, scaled = 0;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      kept += y[i] != 0.0f;
      scaled += y[i] == float(1.0 / (1.0 - P / 100.0));
    }
    CHECK(scaled == kept);
    return double(kept) / double(shape.size());
  };
  CHECK(kept_fraction(thaw::cpu::Layer<thaw::Dropout<20>, shape, false>{}) == Approx(0.8).margin(0.01));
  CHECK(kept_fraction(thaw::cpu::Layer<thaw::Dropout<50>, shape, false>{}) == Approx(0.5).margin(0.01));
  CHECK(kept_fraction(thaw::cpu::Layer<thaw::Dropout<90>, shape, false>{}) == Approx(0.1).margin(0.01));
}

TEST_CASE("a new Model is in train mode, like a new torch.nn.Module", "[model][dropout]") {
  const auto x = random_batch(4);
  Model fresh(4);
  CHECK(fresh.is_training());
  // Dropout is active in a fresh model's forward: two mask seeds give two outputs, and neither
  // is the inference output.
  fresh.seed_dropout(1);
  const auto first = fresh.forward(x);
  fresh.seed_dropout(2);
  const auto second = fresh.forward(x);
  CHECK_FALSE(xt::allclose(first, second));
  Model inference(4);
  inference.eval();
  CHECK_FALSE(inference.is_training());
  const auto eval_output = inference.forward(x);
  CHECK_FALSE(xt::allclose(first, eval_output));
  // The difference is the dropout layer (index 10): it zeroes inputs (from layer 8) that were not zero.
  fresh.seed_dropout(1);
  fresh.forward(x);
  const auto dropped = fresh.activation(10), kept_in = fresh.activation(8);
  std::size_t zeroed = 0;
  for (std::size_t i = 0; i < dropped.size(); ++i) zeroed += dropped.data()[i] == 0.0f && kept_in.data()[i] != 0.0f;
  CHECK(zeroed > 0);
}

TEST_CASE("activations are exposed per layer with their shapes", "[model]") {
  Model model;
  model.eval();
  model.forward(random_batch(3));
  CHECK(model.activation(1).shape() == std::array<std::size_t, 4>{3, 4, 16, 16});
  CHECK(model.activation(3).shape() == std::array<std::size_t, 4>{3, 4, 7, 7});
  CHECK(model.activation(11).shape() == std::array<std::size_t, 4>{3, 3, 1, 1});
  // Conv2d + ReLU are fused: the conv layer's stored output is already rectified.
  const float smallest = xt::amin(model.activation(1))();
  CHECK(smallest >= 0.0f);
}

TEST_CASE("load_pretrained loads the body, draws a new head when its shape differs", "[model][pretrained]") {
  // A "pretrained" dict from a net like SmallNet but with a 10-class head, plus an extra key.
  thaw::StateDict pretrained = Model(11).state_dict();
  pretrained["classifier.1.weight"] = xt::ones<float>({10, 24});
  pretrained["classifier.1.bias"] = xt::ones<float>({10});
  pretrained["extra.running_mean"] = xt::ones<float>({4});

  Model model(3);
  const auto report = model.load_pretrained(pretrained, /*head_seed=*/42);
  CHECK(report.loaded == std::vector<std::string>{"features.0.weight", "features.0.bias", "features.3.weight",
                                                  "features.3.bias"});
  CHECK(report.initialized == std::vector<std::string>{"classifier.1.weight", "classifier.1.bias"});
  CHECK(report.ignored == std::vector<std::string>{"extra.running_mean"});
  CHECK_THAT(report.summary(), Catch::Contains("loaded 4 tensors") && Catch::Contains("initialized classifier.1.weight"));

  const auto sd = model.state_dict();
  for (const char* key : {"features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias"}) {
    const bool same = sd.at(key) == pretrained.at(key);
    CHECK(same);
  }
  // The head is PyTorch's default draw, +-1/sqrt(24), and the seed decides it.
  const float bound = 1.0f / std::sqrt(24.0f);
  CHECK(xt::amax(xt::abs(sd.at("classifier.1.weight")))() <= bound);
  CHECK(xt::amax(xt::abs(sd.at("classifier.1.weight")))() > 0.5f * bound);
  Model again(4);
  again.load_pretrained(pretrained, 42);
  const bool same_head = again.state_dict().at("classifier.1.weight") == sd.at("classifier.1.weight");
  CHECK(same_head);
  Model other_seed(4);
  other_seed.load_pretrained(pretrained, 43);
  const bool different_head = other_seed.state_dict().at("classifier.1.weight") != sd.at("classifier.1.weight");
  CHECK(different_head);

  // A head of the right shape is loaded like the rest.
  const auto matching = Model(12).state_dict();
  const auto all = model.load_pretrained(matching);
  CHECK(all.initialized.empty());
  const bool loaded_head = model.state_dict().at("classifier.1.weight") == matching.at("classifier.1.weight");
  CHECK(loaded_head);
}

TEST_CASE("load_pretrained refuses a body that does not fit, and changes nothing", "[model][pretrained][errors]") {
  thaw::StateDict pretrained = Model(11).state_dict();
  pretrained["features.3.weight"] = xt::ones<float>({6, 4, 5, 5});
  Model model(3);
  const auto before = model.state_dict();
  CHECK_THROWS_WITH(model.load_pretrained(pretrained),
                    Catch::Contains("'features.3.weight' has shape [6, 4, 5, 5]") &&
                        Catch::Contains("expects [6, 4, 3, 3]") && Catch::Contains("only the head"));
  pretrained.erase("features.3.weight");
  CHECK_THROWS_WITH(model.load_pretrained(pretrained), Catch::Contains("missing key 'features.3.weight'"));
  const bool unchanged = model.state_dict() == before;
  CHECK(unchanged);
}
