// thaw/train/prefix_cache.hpp — the outputs of a model's frozen prefix (the layers below the
// lowest trainable one), per image and kept across epochs, so the prefix runs once per image.
// Several Trainers may share one cache (TrainerOptions::prefix_cache) when their prefixes are
// the same layers with the same weights: the paper's mid-level FE, CL3-FE and H-M level FE all
// freeze conv1-conv2, and the second and third then start from the first one's outputs.
//
// The first model bound to a cache fixes its fingerprint (the prefix's layer types, input and
// output shapes and the bytes of its parameters); binding another prefix throws. Each set of
// images (named "train", "validation") has its own table, keyed by image index and checked
// against the set's identity (source_identity). Tables are created while they fit in the byte
// limit; a set that does not fit is recomputed every epoch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "thaw/train/source.hpp"

namespace thaw::train {

class PrefixCache {
 public:
  // Per-image prefix outputs of one set.
  class Table {
   public:
    Table(std::size_t images, std::size_t floats)
        : floats_(floats), values_(new float[images * floats]), cached_(images, false) {}
    bool has(std::size_t image) const { return cached_[image]; }
    bool has_all(std::span<const std::size_t> images) const {
      for (std::size_t i : images)
        if (!cached_[i]) return false;
      return true;
    }
    const float* row(std::size_t image) const { return values_.get() + image * floats_; }
    void store(std::size_t image, const float* output) {
      std::copy_n(output, floats_, values_.get() + image * floats_);
      cached_[image] = true;
    }

   private:
    std::size_t floats_;
    std::unique_ptr<float[]> values_;  // uninitialised: pages are touched as images are stored
    std::vector<bool> cached_;
  };

  explicit PrefixCache(std::size_t byte_limit = std::size_t(2) << 30) : byte_limit_(byte_limit) {}

  // Ties the cache to a prefix (see prefix_fingerprint). `who` names the caller in the error.
  void bind(std::uint64_t fingerprint, std::size_t floats_per_image, const std::string& who) {
    if (!bound_) {
      bound_ = true;
      fingerprint_ = fingerprint;
      floats_ = floats_per_image;
      return;
    }
    if (fingerprint != fingerprint_ || floats_per_image != floats_)
      throw std::invalid_argument(
          who + ": the shared frozen-prefix cache holds the outputs of another prefix (" + std::to_string(floats_) +
          " floats per image, fingerprint " + hex(fingerprint_) + "; this model's: " + std::to_string(floats_per_image) +
          " floats, " + hex(fingerprint) +
          "); only models whose frozen prefixes are the same layers with the same weights may share one. Give this "
          "Trainer its own cache (leave TrainerOptions::prefix_cache empty)");
  }

  // The table of set `name` (created if it fits in the limit; nullptr if not). A set already
  // cached under that name must be the same set.
  Table* table(const std::string& name, std::size_t images, std::uint64_t identity, const std::string& who) {
    if (auto it = tables_.find(name); it != tables_.end()) {
      if (it->second.images != images || it->second.identity != identity)
        throw std::invalid_argument(who + ": the shared frozen-prefix cache holds another '" + name + "' set (" +
                                    std::to_string(it->second.images) + " images; this one has " +
                                    std::to_string(images) +
                                    " or other labels/files); share a cache only between runs on the same sets");
      return it->second.table.get();
    }
    const std::size_t bytes = images * floats_ * sizeof(float);
    if (!bound_ || bytes_ + bytes > byte_limit_) return nullptr;
    bytes_ += bytes;
    auto& entry = tables_[name];
    entry = {images, identity, std::make_unique<Table>(images, floats_)};
    return entry.table.get();
  }

  // Bookkeeping, so a program can tell what sharing saved.
  void count_hits(std::size_t images) { hits_ += images; }
  void count_misses(std::size_t images, double seconds) {
    misses_ += images;
    seconds_ += seconds;
  }
  std::size_t hits() const { return hits_; }      // image outputs taken from the cache
  std::size_t misses() const { return misses_; }  // image outputs computed (and stored)
  double compute_seconds() const { return seconds_; }  // time spent computing them
  // The prefix time the hits saved, at the measured cost per computed image.
  double saved_seconds() const { return misses_ == 0 ? 0.0 : seconds_ / double(misses_) * double(hits_); }
  std::size_t bytes() const { return bytes_; }
  std::size_t byte_limit() const { return byte_limit_; }

 private:
  static std::string hex(std::uint64_t v) {
    char s[20];
    std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(v));
    return s;
  }
  struct Entry {
    std::size_t images = 0;
    std::uint64_t identity = 0;
    std::unique_ptr<Table> table;
  };

  std::size_t byte_limit_;
  bool bound_ = false;
  std::uint64_t fingerprint_ = 0;
  std::size_t floats_ = 0, bytes_ = 0;
  std::map<std::string, Entry> tables_;
  std::size_t hits_ = 0, misses_ = 0;
  double seconds_ = 0;
};

// A layer's parameter vector on the host, whichever backend holds it.
template <class Model, class Vector>
std::vector<float> host_copy(Model& model, const Vector& values) {
  const auto view = Model::backend::view(std::as_const(model.context()), values);
  std::vector<float> host(view.size());
  Model::backend::download(model.context(), view.data(), view.size(), host.data());
  return host;
}

// A hash of what decides a model's frozen-prefix outputs: the prefix's layer types, the input
// and prefix output shapes, and every byte of the prefix's parameters. Equal for two different
// nets whose prefixes are the same layers with the same weights.
template <class Model>
std::uint64_t prefix_fingerprint(Model& model) {
  using N = typename Model::net;
  constexpr std::size_t prefix = Model::frozen_prefix;
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& s : {Model::input_shape, Model::frozen_prefix_shape})
    h = detail::mix(detail::mix(detail::mix(h, s.c), s.h), s.w);
  h = detail::mix(h, prefix);
  const auto add_floats = [&](const auto& values) {
    for (const float v : values) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      h = detail::mix(h, bits);
    }
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          for (const char c : std::string(typeid(typename N::template layer<I>).name())) h = detail::mix(h, std::uint8_t(c));
          if constexpr (N::has_parameters[I]) {
            add_floats(host_copy(model, model.template layer<I>().weight));
            add_floats(host_copy(model, model.template layer<I>().bias));
          }
        }(),
        ...);
  }(std::make_index_sequence<prefix>{});
  return h;
}

}  // namespace thaw::train
