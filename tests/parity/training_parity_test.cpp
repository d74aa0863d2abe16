// tests/parity/training_parity_test.cpp — thaw's training step against PyTorch's for the
// paper's nine freeze patterns (make_training_reference.py writes the references at test
// time): the loss and every trainable gradient after one backward pass within 1e-4 relative,
// the trainable tensors after 10 Adam steps across StepLR boundaries within 1e-3 relative
// (and their change within 1e-2 in norm), frozen tensors bit-identical; and the trainer's
// frozen-prefix cache on the real network.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xrandom.hpp>

#include "thaw/thaw.hpp"
#include "thaw/train/adam.hpp"
#include "thaw/train/trainer.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;

namespace {

// max|a - b| / max|b|, over flat data.
double relative(const xt::xarray<float>& a, const xt::xarray<float>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::abs(a.data()[i] - b.data()[i])));
    scale = std::max(scale, double(std::abs(b.data()[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

template <class Net>
void check_case(std::size_t index, std::string_view name, const nlohmann::json& summary) {
  INFO("case " << index << " (" << name << ")");
  const fs::path dir = oracle_dir(), case_dir = dir / ("case" + std::to_string(index));
  const auto expected = summary.at(std::string(name));
  const thaw::StateDict initial = thaw::io::load_npy_dir(dir / "weights");
  const xt::xtensor<float, 4> x = xt::load_npy<float>((dir / "input.npy").string());
  const auto labels_array = xt::load_npy<float>((dir / "labels.npy").string());
  const std::vector<float> labels(labels_array.begin(), labels_array.end());

  thaw::Model<Net, thaw::Cpu> model;
  model.load_state_dict(initial);
  model.train();
  model.set_dropout(false);

  // One backward pass: loss and gradients.
  const float loss = model.compute_gradients(x, labels);
  CHECK(loss == Approx(expected["loss"].get<double>()).epsilon(1e-4));
  const auto grads = model.gradients();
  const auto keys = expected["trainable"].get<std::vector<std::string>>();
  REQUIRE(grads.size() == keys.size());
  for (const auto& key : keys) {
    INFO("gradient of " << key);
    const xt::xarray<float> ref = xt::load_npy<float>((case_dir / ("grad." + key + ".npy")).string());
    CHECK(relative(grads.at(key), ref) <= 1e-4);
  }

  // Ten Adam steps with StepLR(3, 0.1) after each.
  thaw::train::Adam optimizer(model, {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999});
  thaw::train::StepLR scheduler(optimizer, 3, 0.1);
  const auto step_losses = expected["step_losses"].get<std::vector<double>>();
  for (std::size_t step = 0; step < 10; ++step) {
    const float l = model.train_step(x, labels, optimizer);
    scheduler.step();
    INFO("step " << step);
    CHECK(l == Approx(step_losses[step]).epsilon(1e-3));
  }
  const auto after = model.state_dict();
  for (const auto& [key, value] : after) {
    INFO("tensor " << key);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      CHECK(std::equal(value.begin(), value.end(), initial.at(key).begin()));  // frozen: untouched
      continue;
    }
    const xt::xarray<float> ref = xt::load_npy<float>((case_dir / ("after." + key + ".npy")).string());
    CHECK(relative(value, ref) <= 1e-3);
    // The change itself, which the line above barely sees: within 1% in norm (a few entries
    // whose gradient is at rounding level may move either way in both implementations).
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const double ours = value.data()[i] - initial.at(key).data()[i];
      const double theirs = ref.data()[i] - initial.at(key).data()[i];
      diff += (ours - theirs) * (ours - theirs);
      norm += theirs * theirs;
    }
    CHECK(std::sqrt(diff) <= 1e-2 * std::sqrt(norm));
  }
}

}  // namespace

TEST_CASE("training steps of the nine paper cases match PyTorch", "[parity][training]") {
  std::ifstream in(oracle_dir() / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  std::size_t index = 0;
  std::apply([&](auto... c) { (check_case<typename decltype(c)::net>(index++, c.name, summary), ...); },
             thaw::paper::cases);
  CHECK(index == 9);
}

TEST_CASE("mid-level FE: the frozen-prefix cache gives bit-identical training", "[training][cache]") {
  xt::random::seed(8);
  thaw::train::Dataset data{xt::random::randn<float>({std::size_t{6}, std::size_t{3}, std::size_t{224}, std::size_t{224}}),
                            {0, 1, 1, 0, 1, 0}};
  const auto run = [&](std::size_t cache_bytes) {
    thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(2);
    thaw::train::TrainerOptions options;
    options.epochs = 3;
    options.batch_size = 4;
    options.adam.lr = 1e-4;
    options.cache_bytes = cache_bytes;
    options.on_epoch = [](const thaw::train::EpochRecord&) {};
    thaw::train::Trainer trainer(model, options);
    trainer.fit(data, &data);
    CHECK(trainer.caching() == (cache_bytes > 0));
    return std::pair{model.state_dict(), trainer.history()};
  };
  const auto [cached, cached_history] = run(std::size_t(1) << 30);
  const auto [plain, plain_history] = run(0);
  const bool identical = cached == plain;
  CHECK(identical);
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(cached_history[e].train_loss == plain_history[e].train_loss);
    CHECK(cached_history[e].validation_loss == plain_history[e].validation_loss);
  }
}
