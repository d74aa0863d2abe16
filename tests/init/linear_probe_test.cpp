// tests/init/linear_probe_test.cpp — the linear probe: fit_logistic against scikit-learn's
// StandardScaler + LogisticRegression, and fit_head writing that fit into a model's head.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "../oracle_files.hpp"
#include "thaw/thaw.hpp"
#include "thaw/train/dataset.hpp"
#include "thaw/train/linear_probe.hpp"
#include "thaw/train/predict.hpp"

using Catch::Matchers::Contains;

TEST_CASE("fit_logistic finds scikit-learn's weights and intercept, on standardised and raw features",
          "[init][probe]") {
  const auto dir = oracle_dir();
  std::ifstream in(dir / "probe.json");
  REQUIRE(in);
  const auto meta = nlohmann::json::parse(in);
  for (const auto& [name, m] : meta.items()) {
    SECTION(name) {
      const std::size_t rows = m["rows"], dims = m["dims"];
      const auto x = read_raw<float>(dir / (name + ".f32"));
      const auto y = read_raw<float>(dir / (name + ".labels.f32"));
      REQUIRE(x.size() == rows * dims);
      // Solved tighter than the default (1e-5) to compare with scikit-learn's tol 1e-12 fit.
      const thaw::train::LinearProbeOptions options{
          .c = double(m["c"]), .standardize = bool(m["standardize"]), .tolerance = 1e-6};
      const auto fit = thaw::train::fit_logistic(x.data(), rows, dims, y, options);
      CHECK(fit.converged);
      const std::vector<double> expected = m["weight"];
      double largest = 0, error = 0;
      for (std::size_t j = 0; j < dims; ++j) {
        largest = std::max(largest, std::abs(expected[j]));
        error = std::max(error, std::abs(fit.weight[j] - expected[j]));
      }
      CHECK(error <= 1e-3 * largest);
      CHECK(fit.bias == Approx(double(m["bias"])).margin(1e-3 * largest));
      CHECK(fit.weight[3] == 0.0);  // the constant feature
    }
  }
}

TEST_CASE("fit_logistic refuses what it cannot fit", "[init][probe][errors]") {
  const std::vector<float> x{1, 2, 3, 4}, labels{0, 1};
  CHECK_THROWS_WITH(thaw::train::fit_logistic(x.data(), 2, 2, {0, 1, 1}), Contains("one label per sample"));
  CHECK_THROWS_WITH(thaw::train::fit_logistic(x.data(), 2, 2, labels, {.c = 0}), Contains("c must be positive"));
  const std::vector<float> bad{1, NAN, 3, 4};
  CHECK_THROWS_WITH(thaw::train::fit_logistic(bad.data(), 2, 2, labels), Contains("not finite"));
}

namespace {
using Net = thaw::Net<thaw::Input<3, 16, 16>, thaw::Scope<"features">, thaw::Conv2d<3, 4, 3, 1, 1, thaw::Frozen>,
                      thaw::ReLU, thaw::MaxPool2d<2, 2>, thaw::Flatten, thaw::Scope<"classifier">,
                      thaw::Linear<256, 16, thaw::Frozen>, thaw::ReLU, thaw::Linear<16, 1, thaw::Trainable>>;
using Model = thaw::Model<Net, thaw::Cpu>;

// Images whose label is carried by the mean brightness of the red channel.
thaw::train::Dataset brightness_set(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  xt::xtensor<float, 4> images = xt::empty<float>({n, std::size_t(3), std::size_t(16), std::size_t(16)});
  std::vector<float> labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = float(i % 2);
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < 256; ++p) images(i, c, p / 16, p % 16) = noise(rng) + (c == 0 ? labels[i] : 0.0f);
  }
  return {std::move(images), labels};
}
}  // namespace

TEST_CASE("fit_head writes the probe into the head, and only there", "[init][probe]") {
  Model model(3);
  const auto data = brightness_set(64, 5);
  const auto before = model.state_dict();
  model.train();
  const auto report = thaw::train::fit_head(model, data, {.c = 1.0});
  CHECK(model.is_training());  // restored
  CHECK(report.converged);
  CHECK(report.images == 64);
  CHECK(report.features == 16);
  CHECK(report.train_loss_after < report.train_loss_before);
  const auto after = model.state_dict();
  for (const auto& [key, tensor] : before)
    if (key.rfind("classifier.2.", 0) != 0) CHECK(bool(after.at(key) == tensor));  // all but the head as they were
  CHECK(bool(after.at("classifier.2.weight") != before.at("classifier.2.weight")));

  // The head's logits are the fit's: the reported loss is the model's own mean log-loss.
  const auto logits = thaw::train::predict_logits(model, data);
  double loss = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double u = data.label(i) > 0.5f ? -logits[i] : logits[i];
    loss += std::log1p(std::exp(u));
  }
  CHECK(loss / double(logits.size()) == Approx(report.train_loss_after).epsilon(1e-4));

  // Convex and deterministic: the same model and images give the same head.
  Model again(3);
  thaw::train::fit_head(again, data, {.c = 1.0});
  CHECK(bool(again.state_dict().at("classifier.2.weight") == after.at("classifier.2.weight")));
}

TEST_CASE("fit_head needs both classes", "[init][probe][errors]") {
  Model model;
  auto data = brightness_set(8, 1);
  std::fill(data.labels.begin(), data.labels.end(), 1.0f);
  CHECK_THROWS_WITH(thaw::train::fit_head(model, data), Contains("needs both classes"));
}
