// tests/parity/training_parity_test.cpp — thaw's training step against PyTorch's for the
// paper's nine freeze patterns (make_training_reference.py writes the references at test
// time): the loss and every trainable gradient of one backward pass within 1e-4 relative, at
// the initial weights and again at PyTorch's weights after five Adam steps; the losses of 10
// steps across StepLR boundaries within 1e-3; frozen tensors bit-identical; the same with
// dropout on through thaw's masks; and the trainer's frozen-prefix cache on the real network.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xmath.hpp>
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

xt::xarray<float> load(const fs::path& path) { return xt::load_npy<float>(path.string()); }

// A pass's loss and every trainable gradient against PyTorch's (<references><key>.npy), 1e-4 relative.
template <class Model>
void check_against(const Model& model, float loss, double expected_loss, const std::vector<std::string>& keys,
                   const fs::path& references) {
  CHECK(loss == Approx(expected_loss).epsilon(1e-4));
  const auto grads = model.gradients();
  REQUIRE(grads.size() == keys.size());
  for (const auto& key : keys) {
    INFO("gradient of " << key);
    CHECK(relative(grads.at(key), load(references.string() + key + ".npy")) <= 1e-4);
  }
}

// One backward pass of `model` on (x, labels), checked as above.
template <class Model>
void check_gradients(Model& model, const xt::xtensor<float, 4>& x, const std::vector<float>& labels,
                     double expected_loss, const std::vector<std::string>& keys, const fs::path& references) {
  check_against(model, model.compute_gradients(x, labels), expected_loss, keys, references);
}

struct Inputs {
  thaw::StateDict weights;
  xt::xtensor<float, 4> x;
  std::vector<float> labels;
};

Inputs inputs() {
  const fs::path dir = oracle_dir();
  const auto labels = load(dir / "labels.npy");
  return {thaw::io::load_npy_dir(dir / "weights"), xt::load_npy<float>((dir / "input.npy").string()),
          std::vector<float>(labels.begin(), labels.end())};
}

template <class Net>
void check_case(std::size_t index, std::string_view name, const nlohmann::json& summary) {
  INFO("case " << index << " (" << name << ")");
  const fs::path case_dir = oracle_dir() / ("case" + std::to_string(index));
  const auto expected = summary.at(std::string(name));
  const auto [initial, x, labels] = inputs();
  const auto keys = expected["trainable"].get<std::vector<std::string>>();

  thaw::Model<Net, thaw::Cpu> model;
  model.load_state_dict(initial);
  model.train();
  model.set_dropout(false);
  check_gradients(model, x, labels, expected["loss"].get<double>(), keys, case_dir / "grad.");

  // Ten Adam steps (L2 decay on) with StepLR(3, 0.1) after each. The losses are smooth in the
  // parameters, so they follow PyTorch's closely; the parameters themselves are compared below
  // at a restart from PyTorch's, and the optimizer's arithmetic in adam_parity_test.cpp.
  thaw::train::Adam optimizer(model, {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .weight_decay = 1e-3});
  thaw::train::StepLR scheduler(optimizer, 3, 0.1);
  const auto step_losses = expected["step_losses"].get<std::vector<double>>();
  for (std::size_t step = 0; step < 10; ++step) {
    const float l = model.train_step(x, labels, optimizer);
    scheduler.step();
    INFO("step " << step);
    CHECK(l == Approx(step_losses[step]).epsilon(1e-3));
  }
  // Frozen tensors are untouched (weight decay included), bit for bit.
  for (const auto& [key, value] : model.state_dict()) {
    INFO("tensor " << key);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      CHECK(std::equal(value.begin(), value.end(), initial.at(key).begin()));
  }

  // Step by step: from PyTorch's parameters after five updates, thaw's gradients are PyTorch's.
  const auto restart = expected["restart_step"].get<std::size_t>();
  const std::string step = std::to_string(restart);
  thaw::StateDict at_restart = initial;
  for (const auto& key : keys) at_restart[key] = load(case_dir / ("at" + step + "." + key + ".npy"));
  model.load_state_dict(at_restart);
  INFO("at PyTorch's parameters of step " << step);
  check_gradients(model, x, labels, step_losses[restart], keys, case_dir / ("grad" + step + "."));
}

// The mid-level FE in train mode with dropout on, its masks drawn from `seed`.
struct WithDropout {
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model;
  float loss;
  explicit WithDropout(std::uint64_t seed) {
    const auto [weights, x, labels] = inputs();
    model.load_state_dict(weights);
    model.train();
    model.seed_dropout(seed);
    loss = model.compute_gradients(x, labels);
  }
  // f(key, mask as 0/1 floats [batch, features]) for each dropout layer of the last pass.
  template <class F>
  void for_each_mask(F&& f) const {
    using Net = thaw::paper::MidLevelFE;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (thaw::detail::is_dropout_v<typename Net::template layer<I>>) {
              const auto& kept = model.template layer<I>().kept;
              const std::size_t features = Net::shapes[I].size(), batch = kept.size() / features;
              xt::xtensor<float, 2> mask = xt::zeros<float>({batch, features});
              std::copy_n(kept.begin(), mask.size(), mask.begin());
              f(Net::key(I), mask);
            }
          }(),
          ...);
    }(std::make_index_sequence<Net::size>{});
  }
};
constexpr std::uint64_t dropout_seed = 7;

}  // namespace

TEST_CASE("training steps of the nine paper cases match PyTorch", "[parity][training]") {
  std::ifstream in(oracle_dir() / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  std::size_t index = 0;
  std::apply([&](auto... c) { (check_case<typename decltype(c)::net>(index++, c.name, summary), ...); },
             thaw::paper::cases);
  CHECK(index == 9);
}

// Run by CTest before make_training_reference.py --dropout, which uses these masks.
TEST_CASE("write the masks of a dropout-on pass for PyTorch", "[.][write-masks]") {
  const fs::path folder = oracle_dir() / "dropout";
  fs::create_directories(folder);
  WithDropout(dropout_seed).for_each_mask([&](const std::string& key, const xt::xtensor<float, 2>& mask) {
    xt::dump_npy((folder / ("mask." + key + ".npy")).string(), mask);
  });
}

TEST_CASE("mid-level FE with dropout on: loss and gradients through the same masks as PyTorch", "[parity][dropout]") {
  const fs::path folder = oracle_dir() / "dropout";
  std::ifstream in(folder / "summary.json");
  const auto expected = nlohmann::json::parse(in);
  WithDropout run(dropout_seed);
  std::size_t masks = 0;
  run.for_each_mask([&](const std::string& key, const xt::xtensor<float, 2>& mask) {
    INFO("mask of " << key);
    CHECK(mask == load(folder / ("mask." + key + ".npy")));  // the seed decides the mask
    const float kept = xt::mean(mask)();
    CHECK(kept > 0.45f);  // p = 0.5: both outcomes well represented, so the test has teeth
    CHECK(kept < 0.55f);
    ++masks;
  });
  CHECK(masks == 2);
  check_against(run.model, run.loss, expected["loss"].get<double>(),
                expected["trainable"].get<std::vector<std::string>>(), folder / "grad.");
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
