// thaw/train/trainer.hpp — epochs of Adam + StepLR over a labelled image source: seeded
// shuffling, mini-batches, train and validation loss per epoch, a checkpoint after every epoch
// (resumed from automatically), and the frozen-prefix cache.
//
// Sources: an in-memory Dataset, a data::Loader / data::FileSource (images decoded on demand,
// through the disk cache, so the set need not fit in memory), or any train::ImageSource. The
// Trainer shuffles (from its own seed, never the Loader's), and reads batch k + 1 on a helper
// thread while batch k trains; the same seed gives the same batches, so the same parameters,
// whichever kind of source holds the images.
//
// Models: Model<Net, thaw::Cpu>, or Model<Net, thaw::Cuda> (its batches are copied to the
// device, its prefix outputs and validation logits back to the host cache and loss).
//
// Optimizer: Trainer(model, options) makes its own Adam(options.adam) and
// StepLR(options.lr_step, options.lr_gamma). Trainer(model, adam, scheduler, options) uses
// yours (and checkpoints and restores it); then options.adam, lr_step and lr_gamma must stay at
// their defaults, or the constructor throws std::invalid_argument, so no setting is silently
// ignored.
//
// The cache (train/prefix_cache.hpp): the layers below the lowest trainable one never change,
// so when the inputs are not augmented their output is computed once per image (in the first
// epoch, from the same batches an uncached run would use) and later epochs start from it.
// TrainerOptions::prefix_cache shares one cache between Trainers of models with the same frozen
// prefix (then cache_bytes is unused: the cache has its own limit); left empty, each fit makes a
// private one of cache_bytes (0 turns it off). A set that does not fit is recomputed every
// epoch. Results are bit-identical with a shared, a private or no cache when the prefix's
// per-image results do not depend on the other images of the batch (true for thaw's layers,
// which run one image per GEMM).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "thaw/core/shuffle.hpp"
#include "thaw/train/adam.hpp"
#include "thaw/train/batch_stream.hpp"
#include "thaw/train/checkpoint.hpp"
#include "thaw/train/dataset.hpp"
#include "thaw/train/loss.hpp"
#include "thaw/train/model_training.hpp"
#include "thaw/train/prefix_cache.hpp"
#include "thaw/train/source.hpp"

namespace thaw::train {

struct TrainerOptions {
  std::size_t epochs = 25;
  std::size_t batch_size = 32;
  std::uint64_t seed = 0;                 // shuffling and dropout
  AdamOptions adam{};
  std::size_t lr_step = 7;                // StepLR: lr *= lr_gamma every lr_step epochs
  double lr_gamma = 0.1;
  std::filesystem::path checkpoint{};     // written after every epoch; resumed from if present
  std::size_t cache_bytes = std::size_t(2) << 30;  // private prefix cache's limit; 0 turns it off
  std::function<void(const EpochRecord&)> on_epoch{};  // progress; default prints one line
  std::shared_ptr<PrefixCache> prefix_cache{};  // shared between Trainers; empty: a private one
  std::function<void(const std::string&)> on_message{};  // other notes ("already complete"); default prints
};

template <class Model>
class Trainer {
  static_assert(Model::output_shape.size() == 1, "thaw::train::Trainer trains a one-logit (binary) head");

 public:
  Trainer(Model& model, TrainerOptions options)
      : model_(model), options_(std::move(options)), own_adam_(std::make_unique<Adam>(model, options_.adam)),
        own_scheduler_(std::make_unique<StepLR>(*own_adam_, options_.lr_step, options_.lr_gamma)),
        adam_(*own_adam_), scheduler_(*own_scheduler_) {
    start();
  }

  // Trains with your optimizer and schedule (see the top of this file for the rule).
  Trainer(Model& model, Adam& optimizer, StepLR& scheduler, TrainerOptions options = {})
      : model_(model), options_(std::move(options)), adam_(optimizer), scheduler_(scheduler) {
    const AdamOptions a = options_.adam, d{};
    if (a.lr != d.lr || a.beta1 != d.beta1 || a.beta2 != d.beta2 || a.eps != d.eps || a.weight_decay != d.weight_decay ||
        options_.lr_step != TrainerOptions{}.lr_step || options_.lr_gamma != TrainerOptions{}.lr_gamma)
      throw std::invalid_argument(
          "thaw::train::Trainer: given an Adam and a StepLR, it takes the rate and schedule from them; "
          "TrainerOptions::adam, lr_step and lr_gamma were also set. Set them on the optimizer and scheduler only");
    std::size_t t = 0;
    for (const auto& [key, size] : model.trainable_tensors())
      if (t >= optimizer.keys().size() || optimizer.keys()[t++] != key)
        throw std::invalid_argument("thaw::train::Trainer: the optimizer was not built for this model (it lacks '" +
                                    key + "'); build it as thaw::train::Adam(model, ...)");
    if (t != optimizer.keys().size())
      throw std::invalid_argument("thaw::train::Trainer: the optimizer was built for another model (it has " +
                                  std::to_string(optimizer.keys().size()) + " tensors, this model trains " +
                                  std::to_string(t) + ")");
    start();
  }

  // Trains until options.epochs epochs are done (counting those of a resumed checkpoint);
  // returns the whole history. `train` and `*validation`: a Dataset, a data::Loader, a
  // data::FileSource or any ImageSource. A finished run is reported and returned untrained.
  template <class Train, class Validation = Dataset>
  const std::vector<EpochRecord>& fit(const Train& train, const Validation* validation = nullptr) {
    using ValidationSource = std::remove_cvref_t<decltype(as_source(std::declval<const Validation&>()))>;
    std::optional<ValidationSource> named;  // what a Loader names lives here
    const ValidationSource* v = nullptr;
    if (validation != nullptr) {
      if constexpr (ImageSource<Validation>) v = validation;
      else v = &named.emplace(as_source(*validation));
    }
    return run(as_source(train), v);
  }

  const std::vector<EpochRecord>& history() const { return state_.history; }
  Adam& optimizer() { return adam_; }
  // Whether the last fit kept the training set's frozen-prefix outputs.
  bool caching() const { return train_table_ != nullptr; }
  // The cache the last fit used (the shared one, or its private one); null without a cache.
  const std::shared_ptr<PrefixCache>& prefix_cache() const { return cache_; }

 private:
  static constexpr std::size_t prefix = Model::frozen_prefix;
  static constexpr std::size_t prefix_floats = Model::frozen_prefix_shape.size();
  static constexpr std::size_t input_floats = Model::input_shape.size();
  static constexpr const char* who = "thaw::train::Trainer";
  using Clock = std::chrono::steady_clock;

  void start() {
    if (options_.batch_size == 0 || options_.epochs == 0)
      throw std::invalid_argument("thaw::train::Trainer: batch_size and epochs must be at least 1");
    state_.shuffle_rng.seed(options_.seed);
    model_.seed_dropout(options_.seed ^ 0x9e3779b97f4a7c15ull);
    if (!options_.checkpoint.empty() && std::filesystem::exists(options_.checkpoint))
      state_ = load_checkpoint(options_.checkpoint, model_, adam_, scheduler_);
  }

  template <class TS, class VS>
  const std::vector<EpochRecord>& run(const TS& train, const VS* validation) {
    check_source(train, "train", Model::input_shape.size());
    if (validation) check_source(*validation, "validation", Model::input_shape.size());
    if (train.size() == 0) throw std::invalid_argument("thaw::train::Trainer::fit: the training set is empty");
    if (state_.epoch >= options_.epochs) {
      std::string note = "already complete: " + std::to_string(state_.epoch) + " epochs";
      if (!options_.checkpoint.empty()) note += ", results in " + options_.checkpoint.string();
      message(note);
      return state_.history;
    }
    prepare_cache(train, validation);
    for (std::size_t epoch = state_.epoch; epoch < options_.epochs; ++epoch) {
      const auto start = Clock::now();
      EpochRecord record;
      record.epoch = epoch + 1;
      record.learning_rate = adam_.lr();
      try {
        record.train_loss = train_epoch(train);
        record.validation_loss = validation ? validation_loss(*validation) : 0.0;
      } catch (const std::exception& e) {
        throw std::runtime_error("thaw::train::Trainer: epoch " + std::to_string(epoch + 1) + ": " + e.what());
      }
      scheduler_.step();
      // The file records the time before its own write, plus the last write's as an estimate;
      // the history in memory and the progress line get the measured total.
      record.seconds = seconds_since(start) + checkpoint_seconds_;
      state_.history.push_back(record);
      state_.epoch = epoch + 1;
      if (!options_.checkpoint.empty()) {
        const auto write = Clock::now();
        save_checkpoint(options_.checkpoint, model_, adam_, scheduler_, state_);
        checkpoint_seconds_ = seconds_since(write);
      }
      state_.history.back().seconds = seconds_since(start);
      run_seconds_.push_back(state_.history.back().seconds);
      report(state_.history.back(), validation != nullptr);
    }
    return state_.history;
  }

  static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

  template <class TS, class VS>
  void prepare_cache(const TS& train, const VS* validation) {
    train_table_ = validation_table_ = nullptr;
    cache_ = nullptr;
    if (!Model::frozen_prefix_computes || (!options_.prefix_cache && options_.cache_bytes == 0)) return;
    cache_ = options_.prefix_cache;
    if (!cache_) cache_ = std::make_shared<PrefixCache>(options_.cache_bytes);
    cache_->bind(prefix_fingerprint(model_), prefix_floats, who);  // a shared one refuses another prefix
    train_table_ = cache_->table("train", train.size(), source_identity(train), who);
    if (validation) validation_table_ = cache_->table("validation", validation->size(), source_identity(*validation), who);
  }

  template <class TS>
  double train_epoch(const TS& data) {
    model_.train();
    const auto order = shuffled_indices(data.size(), state_.shuffle_rng);
    double loss_sum = 0;
    stream_batches(
        data, order, options_.batch_size, needs_images(order, train_table_),
        [&](std::size_t b, std::size_t n, const float* images) {
          const std::span<const std::size_t> ids(order.data() + b, n);
          take_labels(data, ids);
          const float loss =
              train_table_ != nullptr
                  ? model_.template compute_gradients_from<prefix>(prefix_outputs(images, ids, *train_table_), n, labels_)
                  : model_.template compute_gradients_from<0>(to_model(images, n * input_floats), n, labels_);
          adam_.step(model_);
          loss_sum += double(loss) * double(n);
        });
    return loss_sum / double(data.size());
  }

  template <class VS>
  double validation_loss(const VS& data) {
    model_.eval();
    std::vector<std::size_t> order(data.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    double loss_sum = 0;
    stream_batches(
        data, order, options_.batch_size, needs_images(order, validation_table_),
        [&](std::size_t b, std::size_t n, const float* images) {
          const std::span<const std::size_t> ids(order.data() + b, n);
          take_labels(data, ids);
          const float* logits = from_model(
              validation_table_ != nullptr
                  ? model_.template forward_from<prefix>(prefix_outputs(images, ids, *validation_table_), n)
                  : model_.template forward_from<0>(to_model(images, n * input_floats), n),
              n * Model::output_shape.size(), logits_);
          scratch_.resize(n * Model::output_shape.size());
          loss_sum += bce_with_logits(logits, labels_.data(), scratch_.size(), scratch_.data()) * double(n);
        });
    return loss_sum / double(data.size());
  }

  // A batch needs its images unless every one of its prefix outputs is cached.
  static auto needs_images(const std::vector<std::size_t>& order, const PrefixCache::Table* table) {
    return [&order, table](std::size_t b, std::size_t n) {
      return table == nullptr || !table->has_all(std::span<const std::size_t>(order.data() + b, n));
    };
  }

  template <class S>
  void take_labels(const S& data, std::span<const std::size_t> ids) {
    labels_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) labels_[i] = data.label(ids[i]);
  }

  // The batch's prefix outputs, gathered from the table; computed and stored first when the
  // batch came with images (not all cached).
  const float* prefix_outputs(const float* images, std::span<const std::size_t> ids, PrefixCache::Table& table) {
    const std::size_t n = ids.size();
    if (images != nullptr) {
      const auto start = Clock::now();
      const float* out = from_model(model_.forward_frozen_prefix(to_model(images, n * input_floats), n),
                                    n * prefix_floats, prefix_outputs_);
      for (std::size_t i = 0; i < n; ++i) table.store(ids[i], out + i * prefix_floats);
      cache_->count_misses(n, seconds_since(start));
    } else {
      cache_->count_hits(n);
    }
    batch_.resize(n * prefix_floats);
    for (std::size_t i = 0; i < n; ++i) std::copy_n(table.row(ids[i]), prefix_floats, batch_.data() + i * prefix_floats);
    return to_model(batch_.data(), batch_.size());
  }

  // Batches come from the host and the cache lives there: with a model whose backend keeps
  // its buffers elsewhere (thaw::Cuda), they are copied in, and outputs copied out.
  const float* to_model(const float* host, std::size_t count) {
    return Model::backend::stage(staged_, host, count);
  }
  const float* from_model(const float* values, std::size_t count, std::vector<float>& host) {
    if constexpr (Model::backend::host_memory) {
      return values;
    } else {
      host.resize(count);
      Model::backend::download(model_.context(), values, count, host.data());
      return host.data();
    }
  }

  void message(const std::string& text) const {
    if (options_.on_message) return options_.on_message(text);
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }

  // Seconds per epoch for the estimate: this run's epochs after its first (which also fills the
  // caches and first touches memory), or the first while it is the only one.
  double typical_epoch_seconds() const {
    const std::size_t skip = run_seconds_.size() > 1 ? 1 : 0;
    return std::accumulate(run_seconds_.begin() + std::ptrdiff_t(skip), run_seconds_.end(), 0.0) /
           double(run_seconds_.size() - skip);
  }

  void report(const EpochRecord& r, bool validated) const {
    if (options_.on_epoch) return options_.on_epoch(r);
    char validation[48] = "";
    if (validated) std::snprintf(validation, sizeof validation, "  validation loss %.4f", r.validation_loss);
    char left[48] = "";
    if (const std::size_t remaining = options_.epochs - r.epoch; remaining > 0)
      std::snprintf(left, sizeof left, "  about %.0f s left", typical_epoch_seconds() * double(remaining));
    std::printf("epoch %zu/%zu  train loss %.4f%s  lr %.2g  %.1f s%s%s\n", r.epoch, options_.epochs, r.train_loss,
                validation, r.learning_rate, r.seconds, caching() ? "  (frozen prefix cached)" : "", left);
    std::fflush(stdout);
  }

  Model& model_;
  TrainerOptions options_;
  std::unique_ptr<Adam> own_adam_;  // only when the Trainer makes its own
  std::unique_ptr<StepLR> own_scheduler_;
  Adam& adam_;
  StepLR& scheduler_;
  TrainingState state_;
  std::shared_ptr<PrefixCache> cache_;
  PrefixCache::Table* train_table_ = nullptr;
  PrefixCache::Table* validation_table_ = nullptr;
  double checkpoint_seconds_ = 0;   // the last checkpoint write
  std::vector<double> run_seconds_;  // epochs trained by this object (with checkpoint writes)
  std::vector<float> batch_, labels_, scratch_, logits_, prefix_outputs_;
  typename Model::backend::buffer staged_;  // a batch copied into the model's memory
};

}  // namespace thaw::train
