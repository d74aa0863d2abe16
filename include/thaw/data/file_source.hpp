// thaw/data/file_source.hpp — a chest X-ray set read image by image, when asked: decoded (or
// taken from the 8-bit disk cache) and normalised on a few threads, never held all at once.
// It is a thaw::train::ImageSource, so Trainer::fit and predict_logits stream from it; a
// data::Loader names one (image_source(loader), in loader.hpp) with the Loader's set,
// preprocessing, cache folder and workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <span>
#include <string>

#include <thaw/data/cxr_dataset.hpp>
#include <thaw/data/image_cache.hpp>
#include <thaw/data/parallel_for.hpp>
#include <thaw/data/preprocess.hpp>

namespace thaw::data {

namespace detail {

// The one image of `sample` that the preprocessing makes, through the cache when there is one.
inline Image resized(const Sample& sample, const Preprocess& pre, ImageCache* cache) {
  return cache != nullptr ? cache->get(sample.path, pre) : pre.resize(read_image(sample.path));
}

}  // namespace detail

struct FileSourceOptions {
  std::filesystem::path cache_dir{};  // empty: decode every image every time
  std::size_t workers = 2;            // threads decoding one batch
  std::ostream* log = &std::clog;     // the cache's warnings; nullptr: silent
};

class FileSource {
 public:
  FileSource(CxrDataset set, Preprocess pre = {}, FileSourceOptions options = {})
      : FileSource(std::make_shared<const CxrDataset>(std::move(set)), std::move(pre), std::move(options)) {}
  // Shares the list of files (a Loader's) instead of copying it.
  FileSource(std::shared_ptr<const CxrDataset> set, Preprocess pre, FileSourceOptions options)
      : set_(std::move(set)), pre_(std::move(pre)), workers_(options.workers) {
    if (!options.cache_dir.empty()) cache_ = std::make_shared<ImageCache>(options.cache_dir, options.log);
  }

  std::size_t size() const { return set_->size(); }
  float label(std::size_t i) const { return float((*set_)[i].label); }
  std::size_t image_floats() const { return 3 * pre_.height * pre_.width; }
  // Images ids[0..n), decoded in parallel, one after another into out. A file that cannot be
  // read is an error naming it.
  void read(std::span<const std::size_t> ids, float* out) const {
    const std::size_t floats = image_floats();
    parallel_for(ids.size(), workers_, [&](std::size_t j) {
      pre_.normalize_into(detail::resized((*set_)[ids[j]], pre_, cache_.get()), out + j * floats);
    });
  }
  // The files and the preprocessing (what the frozen-prefix cache tells sets apart by).
  std::uint64_t identity() const {
    std::uint64_t h = detail::fnv1a(pre_.cache_key());
    for (const Sample& s : set_->samples()) h = detail::fnv1a(s.path.string() + "\n" + std::to_string(s.label) + "\n", h);
    return h;
  }

  const CxrDataset& set() const { return *set_; }
  const Preprocess& preprocess() const { return pre_; }
  const ImageCache* cache() const { return cache_.get(); }

 private:
  std::shared_ptr<const CxrDataset> set_;
  Preprocess pre_;
  std::size_t workers_;
  std::shared_ptr<ImageCache> cache_;  // shared by copies
};

}  // namespace thaw::data
