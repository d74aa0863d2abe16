// thaw/train/trainer.hpp — epochs of Adam + StepLR over a Dataset: seeded shuffling, mini-
// batches, train and validation loss per epoch, a checkpoint after every epoch (resumed from
// automatically), and the frozen-prefix cache.
//
// The cache: the layers below the lowest trainable one never change, so when the inputs are
// not augmented their output is computed once per image (in the first epoch, from the same
// batches an uncached run would use) and later epochs start from it. It is used when it fits
// in `cache_bytes`; otherwise the prefix is recomputed every epoch. Results are bit-identical
// with and without it when the prefix's per-image results do not depend on the other images
// of the batch (true for AlexNet's conv1-conv2, which thaw runs one image per GEMM).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "thaw/core/shuffle.hpp"
#include "thaw/train/adam.hpp"
#include "thaw/train/checkpoint.hpp"
#include "thaw/train/dataset.hpp"
#include "thaw/train/loss.hpp"
#include "thaw/train/model_training.hpp"

namespace thaw::train {

struct TrainerOptions {
  std::size_t epochs = 25;
  std::size_t batch_size = 32;
  std::uint64_t seed = 0;                 // shuffling and dropout
  AdamOptions adam{};
  std::size_t lr_step = 7;                // StepLR: lr *= lr_gamma every lr_step epochs
  double lr_gamma = 0.1;
  std::filesystem::path checkpoint{};     // written after every epoch; resumed from if present
  std::size_t cache_bytes = std::size_t(2) << 30;  // 0 turns the frozen-prefix cache off
  std::function<void(const EpochRecord&)> on_epoch{};  // progress; default prints one line
};

template <class Model>
class Trainer {
  static_assert(Model::output_shape.size() == 1, "thaw::train::Trainer trains a one-logit (binary) head");

 public:
  Trainer(Model& model, TrainerOptions options)
      : model_(model), options_(std::move(options)), adam_(model, options_.adam),
        scheduler_(adam_, options_.lr_step, options_.lr_gamma) {
    if (options_.batch_size == 0 || options_.epochs == 0)
      throw std::invalid_argument("thaw::train::Trainer: batch_size and epochs must be at least 1");
    state_.shuffle_rng.seed(options_.seed);
    model_.seed_dropout(options_.seed ^ 0x9e3779b97f4a7c15ull);
    if (!options_.checkpoint.empty() && std::filesystem::exists(options_.checkpoint))
      state_ = load_checkpoint(options_.checkpoint, model_, adam_, scheduler_);
  }

  // Trains until options.epochs epochs are done (counting those of a resumed checkpoint);
  // returns the whole history.
  const std::vector<EpochRecord>& fit(const Dataset& train, const Dataset* validation = nullptr) {
    train.check("train");
    if (validation) validation->check("validation");
    if (train.size() == 0) throw std::invalid_argument("thaw::train::Trainer::fit: the training set is empty");
    prepare_cache(train, validation);
    for (std::size_t epoch = state_.epoch; epoch < options_.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
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
      record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      state_.history.push_back(record);
      ++run_epochs_;
      run_seconds_ += record.seconds;
      state_.epoch = epoch + 1;
      if (!options_.checkpoint.empty()) save_checkpoint(options_.checkpoint, model_, adam_, scheduler_, state_);
      report(record, validation != nullptr);
    }
    return state_.history;
  }

  const std::vector<EpochRecord>& history() const { return state_.history; }
  Adam& optimizer() { return adam_; }
  // Whether the frozen-prefix cache is in use (decided by fit from cache_bytes).
  bool caching() const { return cache_on_; }

 private:
  static constexpr std::size_t prefix = Model::frozen_prefix;
  static constexpr std::size_t prefix_floats = Model::frozen_prefix_shape.size();

  void prepare_cache(const Dataset& train, const Dataset* validation) {
    const std::size_t images = train.size() + (validation ? validation->size() : 0);
    cache_on_ = prefix > 0 && options_.cache_bytes > 0 && images * prefix_floats * sizeof(float) <= options_.cache_bytes;
    if (!cache_on_) return;
    train_cache_.assign(train.size() * prefix_floats, 0.0f);
    train_cached_.assign(train.size(), false);
    if (validation) {  // validation images are the same every epoch: fill now
      validation_cache_.resize(validation->size() * prefix_floats);
      for (std::size_t b = 0; b < validation->size(); b += options_.batch_size) {
        const std::size_t n = std::min(options_.batch_size, validation->size() - b);
        const float* out = model_.forward_frozen_prefix(validation->images.data() + b * image_floats(), n);
        std::copy(out, out + n * prefix_floats, validation_cache_.begin() + std::ptrdiff_t(b * prefix_floats));
      }
    }
  }

  static constexpr std::size_t image_floats() { return Model::input_shape.size(); }

  double train_epoch(const Dataset& data) {
    model_.train();
    const auto order = shuffled_indices(data.size(), state_.shuffle_rng);
    double loss_sum = 0;
    for (std::size_t b = 0; b < order.size(); b += options_.batch_size) {
      const std::size_t n = std::min(options_.batch_size, order.size() - b);
      labels_.resize(n);
      for (std::size_t i = 0; i < n; ++i) labels_[i] = data.labels[order[b + i]];
      float loss;
      if (cache_on_ && all_cached(order, b, n)) {
        gather(train_cache_.data(), prefix_floats, order, b, n);
        loss = model_.template compute_gradients_from<prefix>(batch_.data(), n, labels_);
      } else {
        gather(data.images.data(), image_floats(), order, b, n);
        if (cache_on_) {  // run the prefix here, keep its output, go on from it
          const float* out = model_.forward_frozen_prefix(batch_.data(), n);
          for (std::size_t i = 0; i < n; ++i) {
            std::copy(out + i * prefix_floats, out + (i + 1) * prefix_floats,
                      train_cache_.begin() + std::ptrdiff_t(order[b + i] * prefix_floats));
            train_cached_[order[b + i]] = true;
          }
          gather(train_cache_.data(), prefix_floats, order, b, n);
          loss = model_.template compute_gradients_from<prefix>(batch_.data(), n, labels_);
        } else {
          loss = model_.template compute_gradients_from<0>(batch_.data(), n, labels_);
        }
      }
      adam_.step(model_);
      loss_sum += double(loss) * double(n);
    }
    return loss_sum / double(data.size());
  }

  double validation_loss(const Dataset& data) {
    model_.eval();
    double loss_sum = 0;
    for (std::size_t b = 0; b < data.size(); b += options_.batch_size) {
      const std::size_t n = std::min(options_.batch_size, data.size() - b);
      const float* logits = cache_on_ ? model_.template forward_from<prefix>(validation_cache_.data() + b * prefix_floats, n)
                                      : model_.template forward_from<0>(data.images.data() + b * image_floats(), n);
      scratch_.resize(n * Model::output_shape.size());
      loss_sum += bce_with_logits(logits, data.labels.data() + b, scratch_.size(), scratch_.data()) * double(n);
    }
    return loss_sum / double(data.size());
  }

  bool all_cached(const std::vector<std::size_t>& order, std::size_t b, std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i)
      if (!train_cached_[order[b + i]]) return false;
    return true;
  }

  // batch_ = rows order[b..b+n) of `source` (each `floats` long).
  void gather(const float* source, std::size_t floats, const std::vector<std::size_t>& order, std::size_t b,
              std::size_t n) {
    batch_.resize(n * floats);
    for (std::size_t i = 0; i < n; ++i)
      std::copy(source + order[b + i] * floats, source + (order[b + i] + 1) * floats,
                batch_.begin() + std::ptrdiff_t(i * floats));
  }

  void report(const EpochRecord& r, bool validated) const {
    if (options_.on_epoch) return options_.on_epoch(r);
    char validation[48] = "";
    if (validated) std::snprintf(validation, sizeof validation, "  validation loss %.4f", r.validation_loss);
    char left[48] = "";  // from this run's epochs (a resumed run's earlier ones took other times)
    const std::size_t remaining = options_.epochs - r.epoch;
    if (remaining > 0 && run_epochs_ > 0)
      std::snprintf(left, sizeof left, "  about %.0f s left", run_seconds_ / double(run_epochs_) * double(remaining));
    std::printf("epoch %zu/%zu  train loss %.4f%s  lr %.2g  %.1f s%s%s\n", r.epoch, options_.epochs, r.train_loss,
                validation, r.learning_rate, r.seconds, cache_on_ ? "  (frozen prefix cached)" : "", left);
    std::fflush(stdout);
  }

  Model& model_;
  TrainerOptions options_;
  Adam adam_;
  StepLR scheduler_;
  TrainingState state_;
  bool cache_on_ = false;
  std::size_t run_epochs_ = 0;  // epochs trained by this object, and their time: the ETA's basis
  double run_seconds_ = 0;
  std::vector<float> train_cache_, validation_cache_, batch_, labels_, scratch_;
  std::vector<bool> train_cached_;
};

}  // namespace thaw::train
