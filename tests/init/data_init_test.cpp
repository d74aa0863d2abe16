// tests/init/data_init_test.cpp — the data-dependent initialization: k-means against
// scikit-learn (and its own invariants, recomputed here in double), activation sizes on held-out
// images, determinism, independence from the freeze pattern, and bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "../oracle_files.hpp"
#include "thaw/thaw.hpp"
#include "thaw/train/data_init.hpp"

using Catch::Matchers::Contains;

TEST_CASE("k-means comes close to scikit-learn's best of 10 and keeps its own invariants", "[init][kmeans]") {
  const auto dir = oracle_dir();
  std::ifstream in(dir / "kmeans.json");
  REQUIRE(in);
  const auto meta = nlohmann::json::parse(in);
  for (const auto& [name, m] : meta.items()) {
    SECTION(name) {
      const std::size_t rows = m["rows"], dims = m["dims"], k = m["k"];
      const auto x = read_raw<float>(dir / (name + ".f32"));
      REQUIRE(x.size() == rows * dims);
      const auto r = thaw::train::kmeans(x.data(), rows, dims, k, 100, 3);
      // One k-means++ start against the best of scikit-learn's ten: within 5%.
      CHECK(r.final_inertia <= 1.05 * double(m["sklearn_inertia"]));
      // Lloyd steps never increase the objective.
      for (std::size_t i = 1; i < r.inertia.size(); ++i) CHECK(r.inertia[i] <= r.inertia[i - 1] * (1 + 1e-6));
      // Recomputed here in double: every centroid is the mean of its rows, every row sits at its
      // nearest centroid (it converged), and the reported objective is that of the result.
      std::vector<double> mean(k * dims, 0.0);
      std::vector<std::size_t> size(k, 0);
      for (std::size_t i = 0; i < rows; ++i) {
        ++size[r.assignment[i]];
        for (std::size_t d = 0; d < dims; ++d) mean[r.assignment[i] * dims + d] += x[i * dims + d];
      }
      for (std::size_t j = 0; j < k; ++j) {
        REQUIRE(size[j] > 0);
        for (std::size_t d = 0; d < dims; ++d)
          CHECK(r.centroids[j * dims + d] == Approx(mean[j * dims + d] / double(size[j])).margin(1e-5));
      }
      double objective = 0;
      for (std::size_t i = 0; i < rows; ++i) {
        std::vector<double> dist(k, 0.0);
        for (std::size_t j = 0; j < k; ++j)
          for (std::size_t d = 0; d < dims; ++d) {
            const double diff = double(x[i * dims + d]) - double(r.centroids[j * dims + d]);
            dist[j] += diff * diff;
          }
        objective += dist[r.assignment[i]];
        CHECK(dist[r.assignment[i]] <= *std::min_element(dist.begin(), dist.end()) + 1e-4);
      }
      CHECK(r.final_inertia == Approx(objective).epsilon(1e-4));
    }
  }
}

TEST_CASE("k-means refuses what it cannot do", "[init][kmeans]") {
  const std::vector<float> x(10, 1.0f);
  REQUIRE_THROWS_WITH(thaw::train::kmeans(x.data(), 5, 2, 6, 10, 0), Contains("at least as many rows"));
  REQUIRE_THROWS_WITH(thaw::train::kmeans(x.data(), 0, 2, 1, 10, 0), Contains("at least one row"));
}

namespace {

constexpr std::size_t per_image = thaw::paper::MidLevelFE::input_shape.size();

// Images with structure at several scales (blobs and gradients, as a radiograph has) plus noise,
// roughly as normalized as the preprocessing leaves them.
std::vector<float> test_images(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> images(n * per_image);
  for (std::size_t i = 0; i < n; ++i) {
    const float cx = 224 * u(rng), cy = 224 * u(rng), r = 20 + 40 * u(rng), tilt = u(rng) - 0.5f;
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t y = 0; y < 224; ++y)
        for (std::size_t x = 0; x < 224; ++x) {
          const float d = std::hypot(float(x) - cx, float(y) - cy);
          images[((i * 3 + c) * 224 + y) * 224 + x] =
              (d < r ? 1.5f : -0.5f) + tilt * (float(y) - 112) / 56 + 0.2f * std::sin(float(x) / 7) + noise(rng);
        }
  }
  return images;
}

const thaw::train::DataInitOptions small{.images = 8, .patches_per_image = 64, .seed = 5, .kmeans_iterations = 4};

template <std::size_t I, class A, class B>
void require_same_layer(A& a, B& b) {
  INFO("layer " << I);
  REQUIRE(a.template layer<I>().weight == b.template layer<I>().weight);
  REQUIRE(a.template layer<I>().bias == b.template layer<I>().bias);
}

}  // namespace

TEST_CASE("initialize_from_data on AlexNet: sizes, determinism, independence from the freeze pattern",
          "[init][alexnet]") {
  const std::vector<float> images = test_images(12, 1);
  using Mid = thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu>;
  using Fine = thaw::Model<thaw::paper::FineTuning, thaw::Cpu>;
  Mid a(1);
  a.train();
  const auto report = thaw::train::initialize_from_data(a, images.data(), 8, small);
  CHECK(a.is_training());  // the mode it came in with
  REQUIRE(report.layers.size() == 8);
  for (const char* key : {"features.0", "features.3", "features.6", "features.8", "features.10", "classifier.1",
                          "classifier.4", "classifier.6"})
    CHECK_THAT(report.summary(), Contains(key));

  SECTION("every initialized layer passes a signal of the target size on held-out images") {
    // Pre-activations of mean 0 and std 1 (the defaults) give a ReLU output std of
    // sqrt(1/2 - 1/(2 pi)) = 0.584 for a Gaussian; the band allows a factor of 2 either way.
    const double expected = std::sqrt(0.5 - 1 / (2 * std::numbers::pi));
    a.eval();
    a.forward_from<0>(images.data() + 8 * per_image, 4);
    for (std::size_t i : {1, 4, 7, 9, 11, 19, 22}) {
      const auto act = a.activation(i);
      double sum = 0, squares = 0;
      for (float v : act) sum += v, squares += double(v) * v;
      const double mean = sum / double(act.size()), sd = std::sqrt(squares / double(act.size()) - mean * mean);
      INFO("layer " << i << ": std " << sd);
      CHECK(sd > 0.5 * expected);
      CHECK(sd < 2 * expected);
    }
  }

  SECTION("the same images and seed give the same weights, whatever the model's own start or freeze pattern") {
    Mid b(2);  // another model seed: other starting weights, which must not matter
    thaw::train::initialize_from_data(b, images.data(), 8, small);
    auto fine = std::make_unique<Fine>(3);
    thaw::train::initialize_from_data(*fine, images.data(), 8, small);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (require_same_layer<I>(a, b), ...);
      (require_same_layer<I>(a, *fine), ...);
    }(std::index_sequence<1, 4, 7, 9, 11, 19, 22>{});
    // ...and another seed gives other filters.
    thaw::train::DataInitOptions other = small;
    other.seed = 6;
    thaw::train::initialize_from_data(b, images.data(), 8, other);
    CHECK(a.layer<1>().weight != b.layer<1>().weight);
  }
}

TEST_CASE("initialize_from_data refuses bad input with a message that says what is wrong", "[init][errors]") {
  auto model = std::make_unique<thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu>>(0);
  std::vector<float> images = test_images(4, 2);
  REQUIRE_THROWS_WITH(thaw::train::initialize_from_data(*model, images.data(), 0, small), Contains("no images"));
  images[3 * per_image + 17] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_WITH(thaw::train::initialize_from_data(*model, images.data(), 4, small),
                      Contains("image 3") && Contains("non-finite"));
  images[3 * per_image + 17] = 0;
  REQUIRE_THROWS_WITH(thaw::train::initialize_from_data(*model, images.data(), 1, small), Contains("at least 2 images"));
  thaw::train::DataInitOptions few = small;
  few.patches_per_image = 8;  // 32 patches for conv1's 64 filters
  REQUIRE_THROWS_WITH(thaw::train::initialize_from_data(*model, images.data(), 4, few),
                      Contains("features.0") && Contains("patches"));
}
