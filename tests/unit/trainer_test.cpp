// tests/unit/trainer_test.cpp — Trainer: it learns a separable problem, the frozen-prefix
// cache changes nothing, a checkpointed run resumes to the same parameters as one that never
// stopped, and a checkpoint of another freeze pattern is refused.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <numeric>
#include <string>

#include <xtensor/xrandom.hpp>

#include "quiet_trainer.hpp"
#include "small_net.hpp"
#include "thaw/train/trainer.hpp"

namespace fs = std::filesystem;
using thaw_test::SmallBinaryNet;
using Model = thaw::Model<SmallBinaryNet, thaw::Cpu>;

namespace {

// Images whose mean brightness gives the label: learnable by the small net.
thaw::train::Dataset separable(std::size_t n, std::uint64_t seed) {
  xt::random::seed(seed);
  thaw::train::Dataset d{xt::random::randn<float>({n, std::size_t{3}, std::size_t{16}, std::size_t{16}}), {}};
  for (std::size_t i = 0; i < n; ++i) {
    const float label = float(i % 2);
    d.labels.push_back(label);
    for (std::size_t k = 0; k < 3 * 16 * 16; ++k) d.images.data()[i * 768 + k] += label ? 1.0f : -1.0f;
  }
  return d;
}

using thaw_test::quiet_options;

fs::path fresh(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("thaw_trainer_" + name + ".safetensors");
  fs::remove(p);
  return p;
}

}  // namespace

TEST_CASE("Trainer learns, keeps a history, and the frozen-prefix cache changes nothing", "[trainer]") {
  const auto train = separable(22, 1), validation = separable(8, 2);
  Model cached_model(5), plain_model(5);
  thaw::train::Trainer cached(cached_model, quiet_options(6));
  thaw::train::Trainer plain(plain_model, quiet_options(6, {}, /*cache_bytes=*/0));
  const auto history = cached.fit(train, &validation);
  plain.fit(train, &validation);
  CHECK(cached.caching());
  CHECK_FALSE(plain.caching());
  REQUIRE(history.size() == 6);
  CHECK(history.back().train_loss < 0.75 * history.front().train_loss);
  CHECK(history.back().validation_loss < history.front().validation_loss);
  CHECK(history[2].learning_rate == Approx(1e-3));  // StepLR(2, 0.1) after two epochs
  const bool identical = cached_model.state_dict() == plain_model.state_dict();
  CHECK(identical);
  CHECK(plain.history()[5].train_loss == history[5].train_loss);
}

TEST_CASE("a checkpointed run resumes to exactly the parameters of an uninterrupted one", "[trainer][checkpoint]") {
  const auto train = separable(18, 3), validation = separable(6, 4);
  Model straight(7);
  thaw::train::Trainer(straight, quiet_options(5)).fit(train, &validation);

  const auto path = fresh("resume");
  Model first(7);
  thaw::train::Trainer(first, quiet_options(2, path)).fit(train, &validation);  // stops after epoch 2
  CHECK(fs::exists(path));
  Model second(99);  // different initial weights: everything must come from the checkpoint
  thaw::train::Trainer resumed(second, quiet_options(5, path));
  const auto history = resumed.fit(train, &validation);
  CHECK(history.size() == 5);
  const bool identical = second.state_dict() == straight.state_dict();
  CHECK(identical);
}

TEST_CASE("a checkpoint of another freeze pattern is refused, naming both", "[trainer][checkpoint][errors]") {
  const auto train = separable(8, 5);
  const auto path = fresh("pattern");
  Model model(1);
  thaw::train::Trainer(model, quiet_options(1, path)).fit(train);
  thaw::Model<thaw_test::SmallBinaryNetOf<thaw::Trainable>, thaw::Cpu> other(1);
  CHECK_THROWS_WITH(thaw::train::Trainer(other, quiet_options(2, path)),
                    Catch::Contains("features.0=F features.3=T classifier.1=T") &&
                        Catch::Contains("this model is [features.0=T features.3=T classifier.1=T]"));
}

TEST_CASE("Trainer refuses bad data with the set and the image named", "[trainer][errors]") {
  auto data = separable(4, 6);
  data.labels[2] = 0.5f;
  Model model(1);
  thaw::train::Trainer trainer(model, quiet_options(1));
  CHECK_THROWS_WITH(trainer.fit(data), Catch::Contains("'train': label 2 is 0.5"));
  data = separable(4, 6);
  data.images(3, 0, 0, 0) = NAN;
  CHECK_THROWS_WITH(trainer.fit(data), Catch::Contains("'train': image 3 holds a non-finite pixel"));
}

TEST_CASE("Trainer trains with the optimizer and schedule it is given, and checkpoints them", "[trainer][optimizer]") {
  const auto train = separable(22, 8), validation = separable(6, 9);
  Model own_model(5), given_model(5);
  thaw::train::Trainer(own_model, quiet_options(3)).fit(train, &validation);  // Adam lr 1e-2, StepLR(2, 0.1) from options

  thaw::train::Adam adam(given_model, {.lr = 1e-2});
  thaw::train::StepLR schedule(adam, 2, 0.1);
  auto o = quiet_options(3);
  o.adam = {};
  o.lr_step = 7;
  o.lr_gamma = 0.1;
  thaw::train::Trainer trainer(given_model, adam, schedule, o);
  CHECK(&trainer.optimizer() == &adam);
  trainer.fit(train, &validation);
  const bool identical = own_model.state_dict() == given_model.state_dict();
  CHECK(identical);
  CHECK(adam.steps() == 3 * 6);   // 22 images in batches of 4: 6 steps an epoch
  CHECK(adam.lr() == Approx(1e-3));  // StepLR(2, 0.1) stepped 3 times
  CHECK(schedule.epoch() == 3);

  // The given optimizer is what the checkpoint saves and a resumed run restores.
  const auto path = fresh("given_optimizer");
  o.checkpoint = path;
  o.epochs = 2;
  Model first(5);
  thaw::train::Adam first_adam(first, {.lr = 1e-2});
  thaw::train::StepLR first_schedule(first_adam, 2, 0.1);
  thaw::train::Trainer(first, first_adam, first_schedule, o).fit(train, &validation);
  Model second(42);
  thaw::train::Adam second_adam(second, {.lr = 0.5});
  thaw::train::StepLR second_schedule(second_adam, 2, 0.1);
  o.epochs = 3;
  thaw::train::Trainer resumed(second, second_adam, second_schedule, o);
  CHECK(second_adam.steps() == 2 * 6);
  CHECK(second_adam.lr() == Approx(1e-3));
  CHECK(second_adam.exp_avg() == first_adam.exp_avg());
  resumed.fit(train, &validation);
  const bool resumed_identical = second.state_dict() == own_model.state_dict();
  CHECK(resumed_identical);
}

TEST_CASE("Trainer refuses an optimizer together with optimizer settings, or one built for another model",
          "[trainer][optimizer][errors]") {
  Model model(1);
  thaw::train::Adam adam(model);
  thaw::train::StepLR schedule(adam, 7);
  thaw::train::TrainerOptions o;
  o.adam.lr = 1e-4;
  CHECK_THROWS_AS(thaw::train::Trainer(model, adam, schedule, o), std::invalid_argument);
  CHECK_THROWS_WITH(thaw::train::Trainer(model, adam, schedule, o), Catch::Contains("lr_step and lr_gamma were also set"));
  o = {};
  o.lr_step = 3;
  CHECK_THROWS_AS(thaw::train::Trainer(model, adam, schedule, o), std::invalid_argument);
  o = {};
  o.adam.weight_decay = 1e-4;
  CHECK_THROWS_AS(thaw::train::Trainer(model, adam, schedule, o), std::invalid_argument);
  CHECK_NOTHROW(thaw::train::Trainer(model, adam, schedule, {}));

  thaw::Model<thaw_test::SmallBinaryNetOf<thaw::Trainable>, thaw::Cpu> other(1);
  thaw::train::Adam other_adam(other);
  thaw::train::StepLR other_schedule(other_adam, 7);
  CHECK_THROWS_WITH(thaw::train::Trainer(model, other_adam, other_schedule, {}),
                    Catch::Contains("the optimizer was not built for this model"));
}

TEST_CASE("rerunning a finished run reports it complete and trains nothing", "[trainer][checkpoint]") {
  const auto train = separable(10, 10);
  const auto path = fresh("complete");
  Model model(4);
  thaw::train::Trainer(model, quiet_options(2, path)).fit(train);
  const auto finished = model.state_dict();

  Model again(77);
  auto o = quiet_options(2, path);
  std::vector<std::string> messages;
  std::size_t epochs_reported = 0;
  o.on_message = [&](const std::string& m) { messages.push_back(m); };
  o.on_epoch = [&](const thaw::train::EpochRecord&) { ++epochs_reported; };
  thaw::train::Trainer rerun(again, o);
  const auto history = rerun.fit(train);
  CHECK(history.size() == 2);
  CHECK(epochs_reported == 0);
  REQUIRE(messages.size() == 1);
  CHECK(messages[0] == "already complete: 2 epochs, results in " + path.string());
  const bool unchanged = again.state_dict() == finished;
  CHECK(unchanged);
  CHECK(rerun.optimizer().steps() == 2 * 3);  // restored, not advanced (10 images, batches of 4)
}

TEST_CASE("an epoch's seconds include the checkpoint write, so the time left is not too short", "[trainer][checkpoint]") {
  // 4.2 M trainable parameters: the checkpoint (weights and Adam's two moments, ~50 MB, fsync'd)
  // costs about as much as the epoch itself, so epoch times that left it out would cover only
  // part of fit's wall time, and ones that include it nearly all of it. (An accounting check, not
  // a speed target: measured 1.00 of fit's time, 0.55 with the write left out.)
  using Wide = thaw::Net<thaw::Input<1, 32, 32>, thaw::Scope<"classifier">, thaw::Flatten,
                         thaw::Linear<1024, 4096, thaw::Trainable>, thaw::ReLU, thaw::Linear<4096, 1, thaw::Trainable>>;
  xt::random::seed(5);
  const thaw::train::Dataset data{xt::random::randn<float>({std::size_t{8}, std::size_t{1}, std::size_t{32}, std::size_t{32}}),
                                  std::vector<float>{0, 1, 0, 1, 0, 1, 0, 1}};
  thaw::Model<Wide, thaw::Cpu> model(3);
  auto o = quiet_options(3, fresh("epoch_seconds"));
  double epoch_seconds = 0;
  o.on_epoch = [&](const thaw::train::EpochRecord& r) { epoch_seconds += r.seconds; };
  thaw::train::Trainer trainer(model, o);
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(data);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(epoch_seconds <= wall);
  CHECK(epoch_seconds >= 0.8 * wall);
}
