// The dataset pipeline on files made here: labels from names, class folders and manifests,
// errors that name the file, seeded and stratified splits (the same on every platform), the disk
// cache (hits, stale and damaged entries), the prefetching loader, and the synthetic set.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <xtensor/xview.hpp>

#include "thaw/data/loader.hpp"
#include "thaw/data/split.hpp"
#include "thaw/data/synthetic.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;
using namespace thaw::data;

namespace {

// A fresh folder under the system's temporary folder, removed afterwards.
struct Scratch {
  fs::path root;
  explicit Scratch(const std::string& name) : root(fs::temp_directory_path() / ("thaw-data-test-" + name)) {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Scratch() { fs::remove_all(root); }
};

Image noise_image(std::size_t w, std::size_t h, std::size_t channels, unsigned seed) {
  std::mt19937 rng(seed);
  Image image = Image::blank(w, h, channels);
  for (auto& p : image.pixels) p = std::uint8_t(rng());
  return image;
}

void write_set(const fs::path& dir, const std::vector<std::string>& names, std::size_t size = 40) {
  unsigned seed = 1;
  for (const auto& name : names) write_png(dir / name, noise_image(size, size + 3, 1, seed++));
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("Labels come from NLM-style names, class folders and CSV manifests", "[data]") {
  Scratch s("sources");
  write_set(s.root / "nlm", {"CHNCXR_0001_0.png", "CHNCXR_0002_1.png", "MCUCXR_0399_1.png", "x_1.PNG"});
  std::ofstream(s.root / "nlm" / "notes.txt") << "not an image";
  std::ostringstream log;
  const CxrDataset nlm = CxrDataset::from_folder(s.root / "nlm", {.log = &log});
  REQUIRE(nlm.size() == 4);
  CHECK(nlm.count(0) == 1);
  CHECK(nlm.count(1) == 3);
  CHECK(nlm[0].path.filename() == "CHNCXR_0001_0.png");  // sorted by path
  CHECK(nlm[0].label == 0);
  CHECK(contains(log.str(), "4 images (1 normal, 3 TB)"));

  write_set(s.root / "classes" / "normal", {"a.png", "b.png"});
  write_set(s.root / "classes" / "tb" / "nested", {"c.png"});
  const CxrDataset classes = CxrDataset::from_folder(s.root / "classes", {.log = nullptr});
  CHECK(classes.class_names() == std::vector<std::string>{"normal", "tb"});
  CHECK(classes.count(0) == 2);
  CHECK(classes.count(1) == 1);

  // A DICOM file without an extension (a PACS export) counts; another file without one does not.
  std::ofstream(s.root / "classes" / "tb" / "IM0001") << std::string(128, '\0') << "DICM";
  std::ofstream(s.root / "classes" / "tb" / "NOTES") << "text";
  CHECK(CxrDataset::from_folder(s.root / "classes", {.log = nullptr}).count(1) == 2);

  std::ofstream(s.root / "list.csv") << "path,label\nnlm/CHNCXR_0001_0.png,1\r\nclasses/normal/a.png,0\n";
  const CxrDataset csv = CxrDataset::from_csv(s.root / "list.csv", {.log = nullptr});
  REQUIRE(csv.size() == 2);
  CHECK(csv.count(1) == 1);
}

TEST_CASE("Bad sources are errors that name the file, or warnings with skip_unlabelled", "[data]") {
  Scratch s("bad-sources");
  CHECK(contains(error_of([&] { CxrDataset::from_folder(s.root / "missing"); }), "does not exist"));
  fs::create_directories(s.root / "empty");
  CHECK(contains(error_of([&] { CxrDataset::from_folder(s.root / "empty", {.log = nullptr}); }), "no labelled images"));

  write_set(s.root / "names", {"CHNCXR_0001_0.png", "CHNCXR_0002.png", "scan_2.png"});
  const std::string message = error_of([&] { CxrDataset::from_folder(s.root / "names", {.log = nullptr}); });
  CHECK(contains(message, "CHNCXR_0002.png"));
  CHECK(contains(message, "_0 (normal) or _1 (TB)"));
  std::ostringstream log;
  const CxrDataset kept = CxrDataset::from_folder(s.root / "names", {.skip_unlabelled = true, .log = &log});
  CHECK(kept.size() == 1);
  CHECK(contains(log.str(), "skipped 2"));
  CHECK(contains(log.str(), "CHNCXR_0002.png"));
  CHECK(contains(log.str(), "scan_2.png"));

  std::ofstream(s.root / "bad.csv") << "names/CHNCXR_0001_0.png,2\n";
  CHECK(contains(error_of([&] { CxrDataset::from_csv(s.root / "bad.csv", {.log = nullptr}); }), "bad.csv:1"));
  std::ofstream(s.root / "gone.csv") << "names/nothing.png,1\n";
  CHECK(contains(error_of([&] { CxrDataset::from_csv(s.root / "gone.csv", {.log = nullptr}); }), "nothing.png"));

  write_set(s.root / "three", {});
  for (const char* c : {"a", "b", "c"}) write_set(s.root / "three" / c, {"x.png"});
  CHECK(contains(error_of([&] { CxrDataset::from_folder(s.root / "three", {.log = nullptr}); }), "exactly 2"));
}

TEST_CASE("A corrupt image is an error naming it, or is left out and listed with skip_unreadable", "[data]") {
  Scratch s("corrupt");
  write_set(s.root, {"CHNCXR_0001_0.png", "CHNCXR_0002_1.png", "CHNCXR_0003_1.png"});
  {  // flip a byte inside the image data: the CRC check must catch it
    std::fstream f(s.root / "CHNCXR_0002_1.png", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    f.put('\x5a');
  }
  std::ofstream(s.root / "CHNCXR_0004_0.png") << "this is not a PNG";
  const CxrDataset set = CxrDataset::from_folder(s.root, {.log = nullptr});
  const std::string message = error_of([&] { load_all(set, {}, {.log = nullptr}); });
  CHECK((contains(message, "CHNCXR_0002_1.png") || contains(message, "CHNCXR_0004_0.png")));
  std::ostringstream log;
  const Loaded loaded = load_all(set, {}, {.skip_unreadable = true, .log = &log});
  CHECK(loaded.kept.size() == 2);
  CHECK(loaded.data.labels == std::vector<float>{0, 1});
  CHECK(loaded.skipped.size() == 2);
  CHECK(contains(log.str(), "CHNCXR_0002_1.png"));
  CHECK(contains(log.str(), "CHNCXR_0004_0.png"));
}

TEST_CASE("Splits are seeded, stratified, disjoint and saved for audit", "[data]") {
  std::vector<Sample> samples;
  for (int i = 0; i < 100; ++i) samples.push_back({"img" + std::to_string(1000 + i) + ".png", i < 30 ? 1 : 0});
  const CxrDataset set("set", samples);
  const Split a = split(set, {.train_fraction = 0.8, .seed = 42});
  const Split b = split(set, {.train_fraction = 0.8, .seed = 42});
  const Split c = split(set, {.train_fraction = 0.8, .seed = 43});
  CHECK(a.train.samples() == b.train.samples());
  CHECK(a.train.samples() != c.train.samples());
  CHECK(a.train.size() == 80);
  CHECK(a.train.count(1) == 24);  // 80 % of each class
  CHECK(a.validation.count(1) == 6);
  std::set<fs::path> seen;
  for (const auto* part : {&a.train, &a.validation})
    for (const Sample& x : part->samples()) CHECK(seen.insert(x.path).second);
  CHECK(seen.size() == 100);

  const Split plain = split(set, {.train_fraction = 0.8, .seed = 42, .stratified = false});
  CHECK(plain.train.size() == 80);

  Scratch s("split");
  save_split(s.root / "split.json", a, {.seed = 42});
  const Split back = load_split(s.root / "split.json");
  CHECK(back.train.samples() == a.train.samples());
  CHECK(back.validation.samples() == a.validation.samples());
  std::ofstream(s.root / "broken.json") << "{\"format\": ";
  CHECK(contains(error_of([&] { load_split(s.root / "broken.json"); }), "broken.json"));
  CHECK(contains(error_of([&] { split(set, {.train_fraction = 1.0}); }), "train_fraction"));
}

namespace {

// The permutation thaw/core/shuffle.hpp documents, written out here as the oracle: Durstenfeld's
// Fisher-Yates, position k = n-1 down to 1 swapping with position (next mt19937_64 output) mod (k+1).
void reference_shuffle(std::vector<std::size_t>& items, std::mt19937_64& engine) {
  for (std::size_t k = items.size(); k-- > 1;) std::swap(items[k], items[engine() % (k + 1)]);
}

std::vector<std::size_t> identity(std::size_t n) {
  std::vector<std::size_t> items(n);
  std::iota(items.begin(), items.end(), std::size_t(0));
  return items;
}

}  // namespace

TEST_CASE("Shuffles and splits are the same on every platform", "[data]") {
  // The engine: C++ [rand.predef] fixes the 10000th output of a default-constructed mt19937_64.
  std::mt19937_64 standard;
  standard.discard(9999);
  CHECK(standard() == 9981545732273789042ull);

  for (const auto& [n, seed] : std::vector<std::pair<std::size_t, std::uint64_t>>{{2, 5489}, {3, 1}, {10, 42}, {97, 7}, {1000, 2020}}) {
    INFO("n = " << n << ", seed = " << seed);
    std::mt19937_64 engine(seed), reference_engine(seed);
    std::vector<std::size_t> expected = identity(n);
    reference_shuffle(expected, reference_engine);
    CHECK(thaw::shuffled_indices(n, engine) == expected);
  }

  // 13 normal and 10 TB, interleaved; 0.8 of each class keeps llround(10.4) = 10 and 8 (no ties to round).
  std::vector<Sample> samples;
  for (int i = 0; i < 23; ++i) samples.push_back({"img" + std::to_string(100 + i) + ".png", i % 2 == 0 && i < 20 ? 1 : 0});
  const CxrDataset set("set", samples);
  REQUIRE(set.count(1) == 10);
  for (const bool stratified : {true, false}) {
    INFO("stratified: " << stratified);
    // One engine seeded once, the classes shuffled in label order, each group's first kept ones trained on.
    std::vector<std::vector<std::size_t>> groups(stratified ? 2 : 1);
    for (std::size_t i = 0; i < samples.size(); ++i) groups[stratified ? std::size_t(samples[i].label) : 0].push_back(i);
    std::mt19937_64 engine(31);
    std::set<std::size_t> train;
    for (auto& group : groups) {
      reference_shuffle(group, engine);
      const std::size_t kept = group.size() == 23 ? 18 : group.size() == 13 ? 10 : 8;  // 23 * 0.8 = 18.4
      train.insert(group.begin(), group.begin() + std::ptrdiff_t(kept));
    }
    std::vector<Sample> expected_train, expected_validation;
    for (std::size_t i = 0; i < samples.size(); ++i) (train.count(i) ? expected_train : expected_validation).push_back(samples[i]);
    const Split got = split(set, {.train_fraction = 0.8, .seed = 31, .stratified = stratified});
    CHECK(got.train.samples() == expected_train);
    CHECK(got.validation.samples() == expected_validation);
  }
}

TEST_CASE("The cache serves hits, rebuilds stale entries and never trusts damaged ones", "[data]") {
  Scratch s("cache");
  const fs::path source = s.root / "CHNCXR_0001_1.png";
  write_png(source, noise_image(500, 431, 1, 7));
  const Preprocess pre;
  std::ostringstream log;
  ImageCache cache(s.root / "cache", &log);
  const Image first = cache.get(source, pre);
  CHECK(first == pre.resize(read_image(source)));
  CHECK(cache.get(source, pre) == first);
  CHECK(cache.counts().built == 1);
  CHECK(cache.counts().hits == 1);

  // The source changes (content, size and time): the entry is stale.
  write_png(source, noise_image(300, 300, 3, 8));
  fs::last_write_time(source, fs::last_write_time(source) + std::chrono::seconds(5));
  const Image second = cache.get(source, pre);
  CHECK(second == pre.resize(read_image(source)));
  CHECK(cache.counts().stale == 1);

  // Damage the entry: detected, reported, rebuilt.
  const fs::path entry = cache.entry_path(source, pre);
  {
    std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x01');
  }
  CHECK(cache.get(source, pre) == second);
  CHECK(cache.counts().corrupt == 1);
  CHECK(contains(log.str(), "damaged"));
  fs::resize_file(entry, 100);
  CHECK(cache.get(source, pre) == second);
  CHECK(cache.counts().corrupt == 2);

  // Other preprocessing: another entry.
  const Preprocess small{.width = 64, .height = 32};
  CHECK(cache.get(source, small).width == 64);
  CHECK(cache.entry_path(source, small) != entry);
}

// The cache records the source's size and its modification time because either alone can miss a
// change: a rewrite of the same length (a re-export) or one that keeps the old time (cp -p, rsync -t).
TEST_CASE("The cache rebuilds an entry when only the source's size or only its time changes", "[data]") {
  Scratch s("cache-key");
  const fs::path source = s.root / "CHNCXR_0001_1.png";
  const Image original = noise_image(500, 431, 1, 7);
  write_png(source, original);
  const auto original_size = fs::file_size(source);
  const auto original_time = fs::last_write_time(source);
  const Preprocess pre;
  ImageCache cache(s.root / "cache", nullptr);
  const Image first = cache.get(source, pre);
  REQUIRE(cache.counts().built == 1);
  // A flat image: its pixels differ from the noise everywhere, and it compresses to far fewer bytes.
  Image flat = Image::blank(500, 431, 1);
  std::fill(flat.pixels.begin(), flat.pixels.end(), std::uint8_t(200));

  SECTION("same size, another time") {
    // A tEXt chunk's text is stored as it is, so padding it makes the file exactly as long as before.
    const auto shortfall = original_size - encode_png(flat, {{"Comment", "x"}}).size();
    write_png(source, flat, {{"Comment", std::string(1 + shortfall, 'x')}});
    REQUIRE(fs::file_size(source) == original_size);
    fs::last_write_time(source, original_time + std::chrono::seconds(5));
  }
  SECTION("another size, the same time") {
    write_png(source, flat);
    REQUIRE(fs::file_size(source) != original_size);
    fs::last_write_time(source, original_time);
    REQUIRE(fs::last_write_time(source) == original_time);
  }
  const Image rebuilt = cache.get(source, pre);
  CHECK(cache.counts().stale == 1);
  CHECK(cache.counts().hits == 0);
  CHECK(rebuilt == pre.resize(flat));
  CHECK(rebuilt != first);
}

TEST_CASE("The loader's batches are the preprocessed images, each once per epoch, seeded", "[data]") {
  Scratch s("loader");
  std::vector<std::string> names;
  for (int i = 1; i <= 11; ++i) names.push_back("CHNCXR_" + std::to_string(1000 + i) + "_" + std::to_string(i % 2) + ".png");
  write_set(s.root / "images", names, 90);
  const CxrDataset set = CxrDataset::from_folder(s.root / "images", {.log = nullptr});
  const Preprocess pre{.width = 32, .height = 24};
  const LoaderOptions options{.batch_size = 4, .shuffle = true, .seed = 5, .cache_dir = s.root / "cache", .prefetch = 1};
  Loader loader(set, pre, options);
  CHECK(loader.size() == 3);
  std::vector<std::vector<std::size_t>> epochs;
  for (int e = 0; e < 2; ++e) {
    std::vector<std::size_t> order;
    for (const Batch& b : loader) {
      REQUIRE(b.images.shape()[0] == b.labels.size());
      for (std::size_t j = 0; j < b.labels.size(); ++j) {
        const std::size_t i = b.indices[j];
        order.push_back(i);
        CHECK(b.labels[j] == float(set[i].label));
        const auto expected = pre(set[i].path);
        const auto got = xt::view(b.images, j);
        CHECK(std::equal(expected.begin(), expected.end(), got.begin()));
      }
    }
    epochs.push_back(order);
  }
  CHECK(epochs[0].size() == 11);
  CHECK(std::set<std::size_t>(epochs[0].begin(), epochs[0].end()).size() == 11);
  CHECK(epochs[0] != epochs[1]);  // epoch 1 is shuffled with seed + 1
  CHECK(loader.cache()->counts().built == 11);
  CHECK(loader.cache()->counts().hits == 11);

  Loader again(set, pre, options);  // the same seed gives the same first epoch
  std::vector<std::size_t> order;
  for (const Batch& b : again) order.insert(order.end(), b.indices.begin(), b.indices.end());
  CHECK(order == epochs[0]);

  // A worker's error reaches the loop, naming the file; leaving an epoch early is fine.
  std::ofstream(s.root / "images" / names[4]) << "broken";
  Loader broken(set, pre, {.batch_size = 2});
  const std::string message = error_of([&] {
    for (const Batch& b : broken) (void)b;
  });
  CHECK(contains(message, names[4]));
  for (const Batch& b : broken) {
    (void)b;
    break;
  }
}

TEST_CASE("The synthetic set is deterministic, NLM-named, labelled as synthetic and balanced as asked", "[data]") {
  Scratch s("synthetic");
  SyntheticOptions options;
  options.train.images = 10;
  options.train.tb = 4;
  options.train.width = options.train.height = 160;
  options.test.images = 6;
  options.test.tb = 3;
  options.test.width = 140;
  options.test.height = 170;
  const auto a = write_synthetic_cxr(s.root / "a", options, nullptr);
  const auto b = write_synthetic_cxr(s.root / "b", options, nullptr, 1);
  const CxrDataset train = CxrDataset::from_folder(a.train, {.log = nullptr});
  const CxrDataset test = CxrDataset::from_folder(a.test, {.log = nullptr});
  CHECK(train.size() == 10);
  CHECK(train.count(1) == 4);
  CHECK(test.count(1) == 3);
  const Image first = read_image(train[0].path);
  CHECK(first.width == 160);
  CHECK(read_image(test[0].path).height == 170);
  for (const Sample& x : train.samples()) {
    const auto bytes = read_raw<char>(x.path);
    CHECK(bytes == read_raw<char>(b.train / x.path.filename()));  // same options, other thread count: same files
    CHECK(contains(std::string(bytes.begin(), bytes.end()), "SYNTHETIC"));
  }
  CHECK(fs::exists(s.root / "a" / "README.txt"));
  // Asking again with the same options keeps the files; other options redraw them.
  const auto stamp_time = fs::last_write_time(s.root / "a" / "synthetic.json");
  write_synthetic_cxr(s.root / "a", options, nullptr);
  CHECK(fs::last_write_time(s.root / "a" / "synthetic.json") == stamp_time);
  // Interrupted (Ctrl-C) with the same options: finished, keeping the images already written.
  std::ofstream(s.root / "a" / "synthetic.json") << nlohmann::json{{"options", thaw::data::detail::synthetic_stamp(options)},
                                                                   {"complete", false}}.dump();
  const fs::path lost = train[3].path, kept = train[4].path;
  const auto lost_bytes = read_raw<char>(lost);
  fs::remove(lost);
  const auto kept_time = fs::last_write_time(kept);
  write_synthetic_cxr(s.root / "a", options, nullptr);
  CHECK(read_raw<char>(lost) == lost_bytes);
  CHECK(fs::last_write_time(kept) == kept_time);

  options.seed = 7;
  write_synthetic_cxr(s.root / "a", options, nullptr);
  const CxrDataset redrawn = CxrDataset::from_folder(a.train, {.log = nullptr});
  CHECK(read_image(redrawn[0].path) != first);
}

// Writes a small synthetic set for check_synthetic_classes.py, which asks scikit-learn whether the
// classes differ as synthetic.hpp documents. 300 images a site at ~128 pixels (~3 s to draw): with fewer
// than ~200 the cross-validated AUC wanders too near the script's bounds.
TEST_CASE("write a small synthetic set for the Python check", "[.][for-python]") {
  SyntheticOptions options;
  for (SyntheticSite* site : {&options.train, &options.test}) {
    site->images = 300;
    site->tb = 150;
  }
  options.train.width = options.train.height = 128;
  options.test.width = 112;  // the Montgomery-like site keeps its portrait shape
  options.test.height = 136;
  const fs::path folder = oracle_dir("THAW_SYNTHETIC_DIR");
  fs::remove_all(folder);  // a set kept from an earlier build would hide a change to the generator
  write_synthetic_cxr(folder, options, nullptr);
}
