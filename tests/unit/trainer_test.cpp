// tests/unit/trainer_test.cpp — Trainer: it learns a separable problem, the frozen-prefix
// cache changes nothing, a checkpointed run resumes to the same parameters as one that never
// stopped, and a checkpoint of another freeze pattern is refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include <xtensor/xrandom.hpp>

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

thaw::train::TrainerOptions options(std::size_t epochs, const fs::path& checkpoint = {}, std::size_t cache = 1 << 30) {
  thaw::train::TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 4;
  o.seed = 11;
  o.adam.lr = 1e-2;
  o.lr_step = 2;
  o.checkpoint = checkpoint;
  o.cache_bytes = cache;
  o.on_epoch = [](const thaw::train::EpochRecord&) {};
  return o;
}

fs::path fresh(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("thaw_trainer_" + name + ".safetensors");
  fs::remove(p);
  return p;
}

}  // namespace

TEST_CASE("Trainer learns, keeps a history, and the frozen-prefix cache changes nothing", "[trainer]") {
  const auto train = separable(22, 1), validation = separable(8, 2);
  Model cached_model(5), plain_model(5);
  thaw::train::Trainer cached(cached_model, options(6));
  thaw::train::Trainer plain(plain_model, options(6, {}, /*cache_bytes=*/0));
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
  thaw::train::Trainer(straight, options(5)).fit(train, &validation);

  const auto path = fresh("resume");
  Model first(7);
  thaw::train::Trainer(first, options(2, path)).fit(train, &validation);  // stops after epoch 2
  CHECK(fs::exists(path));
  Model second(99);  // different initial weights: everything must come from the checkpoint
  thaw::train::Trainer resumed(second, options(5, path));
  const auto history = resumed.fit(train, &validation);
  CHECK(history.size() == 5);
  const bool identical = second.state_dict() == straight.state_dict();
  CHECK(identical);
}

TEST_CASE("a checkpoint of another freeze pattern is refused, naming both", "[trainer][checkpoint][errors]") {
  const auto train = separable(8, 5);
  const auto path = fresh("pattern");
  Model model(1);
  thaw::train::Trainer(model, options(1, path)).fit(train);
  thaw::Model<thaw_test::SmallBinaryNetOf<thaw::Trainable>, thaw::Cpu> other(1);
  CHECK_THROWS_WITH(thaw::train::Trainer(other, options(2, path)),
                    Catch::Contains("features.0=F features.3=T classifier.1=T") &&
                        Catch::Contains("this model is [features.0=T features.3=T classifier.1=T]"));
}

TEST_CASE("Trainer refuses bad data with the set and the image named", "[trainer][errors]") {
  auto data = separable(4, 6);
  data.labels[2] = 0.5f;
  Model model(1);
  thaw::train::Trainer trainer(model, options(1));
  CHECK_THROWS_WITH(trainer.fit(data), Catch::Contains("'train': label 2 is 0.5"));
  data = separable(4, 6);
  data.images(3, 0, 0, 0) = NAN;
  CHECK_THROWS_WITH(trainer.fit(data), Catch::Contains("'train': image 3 holds a non-finite pixel"));
}
