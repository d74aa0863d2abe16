// tests/unit/trainer_streaming_test.cpp — Trainer on streamed sources and the shared frozen-
// prefix cache: a Loader over PNG files trains to exactly the parameters of the same images in
// memory; shared, private and no cache give the same parameters; a cache is refused to a model
// with another prefix or another set; streaming 5,000 images needs no more memory than 500.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <string>

#include <unistd.h>

#include <xtensor/xrandom.hpp>

#include "quiet_trainer.hpp"
#include "small_net.hpp"
#include "thaw/data/loader.hpp"
#include "thaw/data/png.hpp"
#include "thaw/train/predict.hpp"
#include "thaw/train/trainer.hpp"

namespace fs = std::filesystem;
using thaw_test::quiet_options;
using thaw_test::SmallBinaryNet;
using Model = thaw::Model<SmallBinaryNet, thaw::Cpu>;

namespace {

// SmallBinaryNet's frozen prefix (conv1, ReLU, max-pool) under another trainable top.
using OtherTop = thaw::Net<thaw::Input<3, 16, 16>, thaw::Scope<"features">, thaw::Conv2d<3, 4, 3, 1, 1, thaw::Frozen>,
                           thaw::ReLU, thaw::MaxPool2d<3, 2>, thaw::Conv2d<4, 8, 3, 1, 1, thaw::Trainable>, thaw::ReLU,
                           thaw::Scope<"avgpool">, thaw::AdaptiveAvgPool2d<1, 1>, thaw::Flatten,
                           thaw::Scope<"classifier">, thaw::Linear<8, 1, thaw::Trainable>>;
// The same first layers, but the second convolution frozen too: a longer prefix.
using LongerPrefix = thaw::Net<thaw::Input<3, 16, 16>, thaw::Scope<"features">, thaw::Conv2d<3, 4, 3, 1, 1, thaw::Frozen>,
                               thaw::ReLU, thaw::MaxPool2d<3, 2>, thaw::Conv2d<4, 6, 3, 1, 1, thaw::Frozen>, thaw::ReLU,
                               thaw::Scope<"avgpool">, thaw::AdaptiveAvgPool2d<2, 2>, thaw::Flatten,
                               thaw::Scope<"classifier">, thaw::Linear<24, 1, thaw::Trainable>>;
// A few milliseconds a batch on 32x32 images: the memory test's net.
using Tiny = thaw::Net<thaw::Input<3, 32, 32>, thaw::MaxPool2d<2, 2>, thaw::Conv2d<3, 4, 3, 2, 1, thaw::Trainable>,
                       thaw::ReLU, thaw::Flatten, thaw::Linear<256, 1, thaw::Trainable>>;


// n noise PNGs named like the NLM sets (label in the name), in a fresh folder.
fs::path image_folder(const std::string& name, std::size_t n, std::size_t side, std::uint64_t seed) {
  const fs::path dir = fs::temp_directory_path() / ("thaw_streaming_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t channels = i % 3 == 0 ? 3 : 1;  // grey and RGB files
    thaw::data::Image image = thaw::data::Image::blank(side, side, channels);
    for (auto& p : image.pixels) p = std::uint8_t(rng() & 0xff);
    char file[48];
    std::snprintf(file, sizeof file, "SYN_%05zu_%zu.png", i, i % 2);
    const auto bytes = thaw::data::encode_png(image);  // plain writes: write_png's fsync per file is slow
    std::ofstream(dir / file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  return dir;
}

thaw::train::Dataset random_set(std::size_t n, std::uint64_t seed) {
  xt::random::seed(seed);
  thaw::train::Dataset d{xt::random::randn<float>({n, std::size_t{3}, std::size_t{16}, std::size_t{16}}), {}};
  for (std::size_t i = 0; i < n; ++i) d.labels.push_back(float((i * 7 + seed) % 2));
  return d;
}

std::size_t peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("streaming from a Loader trains to exactly the parameters of the same images in memory",
          "[trainer][streaming]") {
  const fs::path train_dir = image_folder("train", 22, 16, 1), validation_dir = image_folder("validation", 9, 16, 2);
  const auto train_set = thaw::data::CxrDataset::from_folder(train_dir, {.log = nullptr});
  const auto validation_set = thaw::data::CxrDataset::from_folder(validation_dir, {.log = nullptr});
  const thaw::data::Preprocess pre{.width = 16, .height = 16};
  const fs::path cache = train_dir.parent_path() / "thaw_streaming_cache";
  // The Loader's own batch size, seed and shuffle play no part: the Trainer's do.
  const thaw::data::Loader train_loader(train_set, pre, {.batch_size = 5, .shuffle = true, .seed = 99, .cache_dir = cache});
  const thaw::data::Loader validation_loader(validation_set, pre, {.cache_dir = cache});
  const thaw::data::LoadOptions load{.cache_dir = cache, .log = nullptr};
  const auto train_memory = thaw::data::load_all(train_set, pre, load).data;
  const auto validation_memory = thaw::data::load_all(validation_set, pre, load).data;

  for (const std::size_t cache_bytes : {std::size_t(1) << 30, std::size_t(0)}) {
    INFO("cache_bytes " << cache_bytes);
    Model in_memory(5), streamed(5);
    thaw::train::Trainer memory_trainer(in_memory, quiet_options(2, {}, cache_bytes));
    thaw::train::Trainer stream_trainer(streamed, quiet_options(2, {}, cache_bytes));
    const auto expected = memory_trainer.fit(train_memory, &validation_memory);
    const auto history = stream_trainer.fit(train_loader, &validation_loader);
    CHECK(stream_trainer.caching() == (cache_bytes > 0));
    const bool identical = in_memory.state_dict() == streamed.state_dict();
    CHECK(identical);
    REQUIRE(history.size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
      CHECK(history[e].train_loss == expected[e].train_loss);
      CHECK(history[e].validation_loss == expected[e].validation_loss);
    }
    CHECK_FALSE(Model(5).state_dict() == streamed.state_dict());  // it did train
  }

  // Scoring streams too: the same logits as the tensor in memory, and as one forward pass.
  Model model(3);
  const auto streamed = thaw::train::predict_logits(model, validation_loader, 4);
  const auto memory = thaw::train::predict_logits(model, validation_memory, 4);
  CHECK(streamed == memory);
  const auto whole = model.forward(validation_memory.images);
  REQUIRE(streamed.size() == validation_set.size());
  for (std::size_t i = 0; i < streamed.size(); ++i) CHECK(streamed[i] == Approx(whole(i, 0)).margin(1e-5));
}

TEST_CASE("a shared, a private and no frozen-prefix cache give the same parameters; sharing saves the prefix runs",
          "[trainer][prefix_cache]") {
  const auto train = random_set(22, 1), validation = random_set(8, 2);
  const auto run = [&]<class M>(M& model, std::size_t cache_bytes, std::shared_ptr<thaw::train::PrefixCache> shared) {
    auto o = quiet_options(2, {}, cache_bytes);
    o.prefix_cache = std::move(shared);
    thaw::train::Trainer trainer(model, o);
    trainer.fit(train, &validation);
    return trainer.caching();
  };
  Model a_none(5), a_private(5), a_shared(5);
  thaw::Model<OtherTop, thaw::Cpu> b_none(5), b_private(5), b_shared(5);
  // Same seed, same first tensors drawn: the two nets' frozen prefixes are equal.
  const bool same_prefix = a_none.state_dict().at("features.0.weight") == b_none.state_dict().at("features.0.weight");
  REQUIRE(same_prefix);
  auto cache = std::make_shared<thaw::train::PrefixCache>();
  CHECK_FALSE(run(a_none, 0, nullptr));
  CHECK(run(a_private, std::size_t(1) << 30, nullptr));
  CHECK(run(a_shared, 0, cache));  // cache_bytes plays no part with a shared cache
  CHECK_FALSE(run(b_none, 0, nullptr));
  CHECK(run(b_private, std::size_t(1) << 30, nullptr));
  CHECK(run(b_shared, 0, cache));
  const bool a_same = a_none.state_dict() == a_private.state_dict() && a_none.state_dict() == a_shared.state_dict();
  const bool b_same = b_none.state_dict() == b_private.state_dict() && b_none.state_dict() == b_shared.state_dict();
  CHECK(a_same);
  CHECK(b_same);
  // Each of the 30 images' prefix ran once (a's first epoch); a's second epoch and both of b's
  // took all 30 from the cache.
  CHECK(cache->misses() == 30);
  CHECK(cache->hits() == 30 + 2 * 30);
  CHECK(cache->compute_seconds() > 0);
  CHECK(cache->saved_seconds() == Approx(cache->compute_seconds() * 3));
  CHECK(cache->bytes() == 30 * Model::frozen_prefix_shape.size() * sizeof(float));
}

TEST_CASE("a shared prefix cache is refused to another prefix or another set", "[trainer][prefix_cache][errors]") {
  const auto train = random_set(10, 3);
  auto cache = std::make_shared<thaw::train::PrefixCache>();
  auto o = quiet_options(1);
  o.prefix_cache = cache;
  Model first(5);
  thaw::train::Trainer(first, o).fit(train);

  thaw::Model<OtherTop, thaw::Cpu> other_weights(6);
  CHECK_THROWS_WITH(thaw::train::Trainer(other_weights, o).fit(train),
                    Catch::Contains("holds the outputs of another prefix") && Catch::Contains("its own cache"));
  thaw::Model<LongerPrefix, thaw::Cpu> longer(5);
  CHECK_THROWS_AS(thaw::train::Trainer(longer, o).fit(train), std::invalid_argument);
  Model same_prefix(5);
  CHECK_THROWS_WITH(thaw::train::Trainer(same_prefix, o).fit(random_set(12, 4)),
                    Catch::Contains("holds another 'train' set (10 images; this one has 12"));
  thaw::train::Trainer(same_prefix, o).fit(train);  // the same prefix and set are welcome
  CHECK(cache->hits() == 10);
}

// Run by the next test in a process of its own: trains Tiny for one epoch, streaming the first
// THAW_RSS_IMAGES images of THAW_RSS_DIR, and prints the process's peak resident set.
TEST_CASE("streaming memory child", "[.][rss_child]") {
  const char* dir = std::getenv("THAW_RSS_DIR");
  const char* count = std::getenv("THAW_RSS_IMAGES");
  REQUIRE(dir != nullptr);
  REQUIRE(count != nullptr);
  const auto all = thaw::data::CxrDataset::from_folder(dir, {.log = nullptr});
  std::vector<std::size_t> first(std::stoul(count));
  std::iota(first.begin(), first.end(), std::size_t{0});
  const thaw::data::Loader loader(all.subset(first, "first"), thaw::data::Preprocess{.width = 32, .height = 32});
  thaw::Model<Tiny, thaw::Cpu> model(1);
  auto o = quiet_options(1, {}, /*cache_bytes=*/0);  // nothing kept per image
  o.batch_size = 32;
  thaw::train::Trainer(model, o).fit(loader);
  std::printf("peak_rss_kB %zu\n", peak_rss_kb());
}

#if defined(__SANITIZE_ADDRESS__)
#define THAW_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THAW_UNDER_ASAN 1
#endif
#endif

TEST_CASE("streaming 5,000 images needs no more memory than 500", "[trainer][streaming][memory]") {
#ifdef THAW_UNDER_ASAN
  WARN("skipped under AddressSanitizer: its quarantine keeps freed memory resident");
  return;
#endif
  const fs::path dir = image_folder("rss", 5000, 32, 7);
  const auto peak_for = [&](std::size_t images) {
    const std::string command = "THAW_RSS_DIR='" + dir.string() + "' THAW_RSS_IMAGES=" + std::to_string(images) +
                                " /proc/" + std::to_string(::getpid()) + "/exe '[rss_child]' 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::size_t kb = 0;
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr) std::sscanf(line, "peak_rss_kB %zu", &kb);
    CHECK(::pclose(pipe) == 0);
    return kb;
  };
  const std::size_t small = peak_for(500), large = peak_for(5000);
  INFO("peak RSS: 500 images " << small << " kB, 5000 images " << large << " kB");
  REQUIRE(small > 0);
  CHECK(double(large) <= 1.2 * double(small));
  // The test can tell: holding the 5,000 images as floats would add more than the 20% allowed.
  CHECK(5000.0 * 3 * 32 * 32 * sizeof(float) / 1024 > 0.2 * double(small));
}
