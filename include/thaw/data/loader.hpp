// thaw/data/loader.hpp — batches of preprocessed images, built by worker threads ahead of the
// training loop, and load_all() for a set small enough to hold in memory (the paper's 662
// Shenzhen images are 400 MB as float tensors), which Trainer::fit reads as it is; a FileSource
// streams them from disk instead.
//
//   thaw::data::Loader batches(train, pre, {.batch_size = 32, .shuffle = true, .seed = 1,
//                                           .cache_dir = "cache"});
//   for (const thaw::data::Batch& b : batches) model.train_step(b.images, b.labels, ...);
//
// Each range-for is one epoch; epoch e is shuffled with seed + e, so runs repeat exactly.
// thaw::train::Trainer::fit(loader) streams the set instead (image_source below).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <xtensor/xtensor.hpp>

#include <thaw/core/shuffle.hpp>
#include <thaw/data/cxr_dataset.hpp>
#include <thaw/data/file_source.hpp>
#include <thaw/data/image_cache.hpp>
#include <thaw/data/labelled_images.hpp>
#include <thaw/data/parallel_for.hpp>
#include <thaw/data/preprocess.hpp>
#include <thaw/data/progress.hpp>

namespace thaw::data {

struct LoaderOptions {
  std::size_t batch_size = 32;
  bool shuffle = false;
  std::uint64_t seed = 1;
  std::filesystem::path cache_dir{};  // empty: decode every image every time
  std::size_t workers = 2;          // threads preparing batches
  std::size_t prefetch = 2;         // batches prepared ahead of the consumer
};

struct Batch {
  xt::xtensor<float, 4> images;       // [n, 3, height, width], normalised
  std::vector<float> labels;          // 0 or 1
  std::vector<std::size_t> indices;   // positions in the set
};

class Loader {
 public:
  Loader(CxrDataset set, Preprocess pre = {}, LoaderOptions options = {})
      : set_(std::make_shared<const CxrDataset>(std::move(set))), pre_(std::move(pre)), options_(std::move(options)) {
    if (options_.batch_size == 0) throw DatasetError("thaw::data::Loader: batch_size must be positive");
    if (!options_.cache_dir.empty()) cache_ = std::make_unique<ImageCache>(options_.cache_dir);
  }

  const CxrDataset& set() const { return *set_; }
  std::size_t size() const { return (set_->size() + options_.batch_size - 1) / options_.batch_size; }  // batches
  const ImageCache* cache() const { return cache_.get(); }
  const Preprocess& preprocess() const { return pre_; }
  const LoaderOptions& options() const { return options_; }
  const std::shared_ptr<const CxrDataset>& shared_set() const { return set_; }

  // Builds batch k of an epoch whose sample order is `order`.
  Batch build(const std::vector<std::size_t>& order, std::size_t k) const {
    const std::size_t first = k * options_.batch_size;
    const std::size_t n = std::min(options_.batch_size, order.size() - first);
    Batch batch;
    batch.images = xt::empty<float>({n, std::size_t(3), pre_.height, pre_.width});
    const std::size_t per_image = 3 * pre_.height * pre_.width;
    for (std::size_t j = 0; j < n; ++j) {
      const Sample& sample = (*set_)[order[first + j]];
      pre_.normalize_into(detail::resized(sample, pre_, cache_.get()), batch.images.data() + j * per_image);
      batch.labels.push_back(float(sample.label));
      batch.indices.push_back(order[first + j]);
    }
    return batch;
  }

  class Epoch;
  class Iterator;
  struct End {};
  Iterator begin();
  End end() const { return {}; }

 private:
  std::vector<std::size_t> order(std::size_t epoch) const {
    std::mt19937_64 rng(options_.seed + epoch);
    if (options_.shuffle) return shuffled_indices(set_->size(), rng);
    std::vector<std::size_t> o(set_->size());
    std::iota(o.begin(), o.end(), 0);
    return o;
  }

  std::shared_ptr<const CxrDataset> set_;  // shared with the FileSource image_source() makes
  Preprocess pre_;
  LoaderOptions options_;
  std::unique_ptr<ImageCache> cache_;
  std::size_t epochs_started_ = 0;
  std::unique_ptr<Epoch> running_;
};

// One pass over the set: workers build batches (at most `prefetch` ahead), next() hands them
// out in order. Destroying it stops and joins the workers.
class Loader::Epoch {
 public:
  Epoch(const Loader& loader, std::vector<std::size_t> order)
      : loader_(loader), order_(std::move(order)), batches_(loader.size()) {
    for (std::size_t w = 0; w < std::max<std::size_t>(1, loader.options_.workers); ++w)
      workers_.emplace_back([this] { work(); });
  }
  ~Epoch() {
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
  }

  std::optional<Batch> next() {
    std::unique_lock lock(mutex_);
    if (handed_out_ == batches_) return std::nullopt;
    changed_.wait(lock, [&] { return error_ || ready_.contains(handed_out_); });
    if (error_) std::rethrow_exception(error_);
    Batch batch = std::move(ready_.extract(handed_out_).mapped());
    ++handed_out_;
    lock.unlock();
    changed_.notify_all();
    return batch;
  }

 private:
  void work() {
    const std::size_t ahead = std::max<std::size_t>(1, loader_.options_.prefetch);
    for (;;) {
      std::size_t k;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stop_ || claimed_ >= batches_ || claimed_ < handed_out_ + ahead; });
        if (stop_ || claimed_ >= batches_) return;
        k = claimed_++;
      }
      try {
        Batch batch = loader_.build(order_, k);
        const std::lock_guard lock(mutex_);
        ready_.emplace(k, std::move(batch));
      } catch (...) {
        const std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
        stop_ = true;
      }
      changed_.notify_all();
    }
  }

  const Loader& loader_;
  const std::vector<std::size_t> order_;
  const std::size_t batches_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::size_t, Batch> ready_;
  std::size_t claimed_ = 0, handed_out_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::jthread> workers_;  // last: joined first, while the rest is alive
};

class Loader::Iterator {
 public:
  explicit Iterator(Epoch* epoch) : epoch_(epoch) { ++*this; }
  const Batch& operator*() const { return *current_; }
  const Batch* operator->() const { return &*current_; }
  Iterator& operator++() {
    current_ = epoch_->next();
    return *this;
  }
  bool operator==(End) const { return !current_; }

 private:
  Epoch* epoch_;
  std::optional<Batch> current_;
};

inline Loader::Iterator Loader::begin() {
  running_.reset();  // a previous epoch left unfinished stops here
  running_ = std::make_unique<Epoch>(*this, order(epochs_started_++));
  return Iterator(running_.get());
}

// The images of `loader`'s set as a thaw::train::ImageSource (same preprocessing, cache folder
// and workers), so Trainer::fit(loader) and predict_logits(model, loader) stream them. The
// Trainer shuffles and batches with its own seed and batch size, not the Loader's.
inline FileSource image_source(const Loader& loader) {
  return FileSource(loader.shared_set(), loader.preprocess(),
                    {.cache_dir = loader.options().cache_dir, .workers = loader.options().workers});
}

struct LoadOptions {
  std::filesystem::path cache_dir{};  // empty: no disk cache
  std::size_t workers = 2;
  bool skip_unreadable = false;      // leave out images that fail to decode, listing them
  std::ostream* log = &std::clog;    // progress and warnings; nullptr: silent
};

// The images of a set that decode, and what became of the others.
struct Readable {
  CxrDataset kept;                   // the samples that could be read, in order
  std::vector<std::string> skipped;  // "<file>: <reason>" for each image left out
};

struct Loaded {
  LabelledImages data;               // what Trainer::fit reads (or a train::Dataset from std::move(data))
  CxrDataset kept;                   // the samples in `data`, in order
  std::vector<std::string> skipped;  // "<file>: <reason>" for each image left out
};

namespace detail {

// Decodes and preprocesses every image of `set` in parallel (through the disk cache when there
// is one), printing progress, and hands each to use(i, image). An image that cannot be read is
// an error naming it, unless skip_unreadable: then it is listed and left out.
template <class Use>
Readable decode_each(const CxrDataset& set, const Preprocess& pre, const LoadOptions& options, const std::string& who,
                     Use&& use) {
  std::unique_ptr<ImageCache> cache;
  if (!options.cache_dir.empty()) cache = std::make_unique<ImageCache>(options.cache_dir, options.log);
  const std::size_t n = set.size();
  std::vector<std::string> failures(n);
  Progress progress(options.log, set.name() + ": images decoded and resized", n);
  parallel_for(n, options.workers, [&](std::size_t i) {
    try {
      use(i, resized(set[i], pre, cache.get()));
    } catch (const std::exception& e) {
      if (!options.skip_unreadable) throw;
      failures[i] = e.what();
    }
    progress.step();
  });
  std::vector<std::size_t> kept;
  Readable out;
  for (std::size_t i = 0; i < n; ++i) {
    if (failures[i].empty()) kept.push_back(i);
    else out.skipped.push_back(failures[i]);
  }
  out.kept = set.subset(kept, set.name());
  if (options.log != nullptr && !out.skipped.empty()) {
    *options.log << "thaw::data: warning: " << set.name() << ": left out " << out.skipped.size()
                 << " unreadable image(s):\n";
    for (const auto& s : out.skipped) *options.log << "  " << s << "\n";
  }
  if (kept.empty()) throw DatasetError("thaw::data::" + who + ": no image of " + set.summary() + " could be read");
  return out;
}

}  // namespace detail

// Decodes every image once without keeping it (so the disk cache is filled when there is one):
// the files of `set` a streaming source (FileSource) can then read without failing.
inline Readable check_readable(const CxrDataset& set, const Preprocess& pre = {}, const LoadOptions& options = {}) {
  return detail::decode_each(set, pre, options, "check_readable", [](std::size_t, const Image&) {});
}

// Decodes and preprocesses a whole set into memory, in parallel, printing progress. An image
// that cannot be read is an error naming it, unless skip_unreadable.
inline Loaded load_all(const CxrDataset& set, const Preprocess& pre = {}, const LoadOptions& options = {}) {
  const std::size_t n = set.size(), per_image = 3 * pre.height * pre.width;
  xt::xtensor<float, 4> images = xt::empty<float>({n, std::size_t(3), pre.height, pre.width});
  std::vector<char> decoded(n, 0);
  Readable readable = detail::decode_each(set, pre, options, "load_all", [&](std::size_t i, const Image& image) {
    pre.normalize_into(image, images.data() + i * per_image);
    decoded[i] = 1;
  });
  Loaded out{.data = {}, .kept = std::move(readable.kept), .skipped = std::move(readable.skipped)};
  if (out.kept.size() == n) {
    out.data.images = std::move(images);
  } else {
    out.data.images = xt::empty<float>({out.kept.size(), std::size_t(3), pre.height, pre.width});
    for (std::size_t i = 0, j = 0; i < n; ++i)
      if (decoded[i]) std::copy_n(images.data() + i * per_image, per_image, out.data.images.data() + j++ * per_image);
  }
  for (const Sample& s : out.kept.samples()) out.data.labels.push_back(float(s.label));
  return out;
}

}  // namespace thaw::data
