// tests/parity/adam_parity_test.cpp — thaw's Adam and StepLR against torch.optim on the same
// gradient sequences (make_adam_reference.py), element by element after every step.
// Given identical gradients the update is well-conditioned even where a whole-network
// comparison is not (zero, tiny and eps-sized gradients), so the bound below is a few float
// roundings per step, and any change to the formula (bias correction, where eps goes, when the
// rate decays, weight decay) moves some entry by a sizeable fraction of the learning rate.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include "thaw/train/adam.hpp"

#include "../oracle_files.hpp"

namespace {

// What Adam needs of a model: its trainable tensors with gradients, here given by the test.
struct GivenGradients {
  std::vector<std::string> keys;
  std::vector<std::vector<float>> params, grads;

  template <class F>
  void for_each_trainable(F&& f) {
    for (std::size_t t = 0; t < keys.size(); ++t) f(keys[t], std::span(params[t]), std::span<const float>(grads[t]));
  }
  std::vector<std::pair<std::string, std::size_t>> trainable_tensors() const {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (std::size_t t = 0; t < keys.size(); ++t) out.emplace_back(keys[t], params[t].size());
    return out;
  }
};

std::vector<float> load(const std::filesystem::path& path) {
  const auto a = xt::load_npy<float>(path.string());
  return {a.begin(), a.end()};
}

void check_config(const std::string& name) {
  INFO("configuration '" << name << "'");
  const auto dir = oracle_dir() / name;
  std::ifstream in(dir / "options.json");
  const auto options = nlohmann::json::parse(in);
  GivenGradients model;
  std::vector<std::vector<float>> grads, expected;  // [tensor][step * size + i]
  for (const auto& key : options["tensors"].get<std::vector<std::string>>()) {
    model.keys.push_back(key);
    model.params.push_back(load(dir / (key + ".params0.npy")));
    model.grads.emplace_back(model.params.back().size());
    grads.push_back(load(dir / (key + ".grads.npy")));
    expected.push_back(load(dir / (key + ".expected.npy")));
  }
  const auto betas = options["betas"].get<std::vector<double>>();
  thaw::train::Adam optimizer(model, {.lr = options["lr"].get<double>(),
                                      .beta1 = betas[0],
                                      .beta2 = betas[1],
                                      .eps = options["eps"].get<double>(),
                                      .weight_decay = options["weight_decay"].get<double>()});
  thaw::train::StepLR scheduler(optimizer, options["step_size"].get<std::size_t>(), options["gamma"].get<double>());
  const std::size_t steps = grads[0].size() / model.params[0].size();
  double travelled = 0;  // sum of the rates so far: no Adam step moves an entry much further
  for (std::size_t step = 0; step < steps; ++step) {
    travelled += optimizer.lr();
    for (std::size_t t = 0; t < model.keys.size(); ++t) {
      const std::size_t n = model.params[t].size();
      std::copy_n(grads[t].begin() + std::ptrdiff_t(step * n), n, model.grads[t].begin());
    }
    optimizer.step(model);
    scheduler.step();
    for (std::size_t t = 0; t < model.keys.size(); ++t) {
      const std::size_t n = model.params[t].size();
      double worst = 0;
      std::size_t worst_at = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double ref = expected[t][step * n + i];
        // Float rounding: ~1e-7 relative per operation on the parameter and on each update.
        const double excess = std::abs(model.params[t][i] - ref) - (1e-6 * std::abs(ref) + 1e-5 * travelled);
        if (excess > worst) worst = excess, worst_at = i;
      }
      INFO("step " << step << ", tensor '" << model.keys[t] << "', entry " << worst_at << ": thaw "
                   << model.params[t][worst_at] << ", torch " << expected[t][step * n + worst_at]);
      CHECK(worst == 0);
    }
  }
  CHECK(optimizer.steps() == steps);
}

}  // namespace

TEST_CASE("Adam and StepLR match torch.optim step by step on the same gradients", "[parity][adam]") {
  check_config("paper");  // the paper's settings: lr 1e-3, x0.1 every 3 steps here
  check_config("decay");  // other betas and eps, L2 weight decay, another schedule
}
