// tests/unit/quiet_trainer.hpp — the Trainer settings the trainer tests share: small batches, a
// fast learning rate with a StepLR boundary inside a few epochs, and no progress lines.
#pragma once

#include <cstddef>
#include <filesystem>

#include "thaw/train/trainer.hpp"

namespace thaw_test {

inline thaw::train::TrainerOptions quiet_options(std::size_t epochs, const std::filesystem::path& checkpoint = {},
                                                 std::size_t cache_bytes = std::size_t(1) << 30) {
  thaw::train::TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 4;
  o.seed = 11;
  o.adam.lr = 1e-2;
  o.lr_step = 2;
  o.checkpoint = checkpoint;
  o.cache_bytes = cache_bytes;
  o.on_epoch = [](const thaw::train::EpochRecord&) {};
  return o;
}

}  // namespace thaw_test
